"""Finding the lost region: the mask model's prediction at any image size, snapping, IoU.

The mask network runs at `scale` times the image's resolution (the scale it was trained
at: its training size / 512). Its probability map is resized back to full size and
thresholded. Because a DACON lost region is one flat fill of a single gray value with
sharp edges, `snap_to_fill` then moves the coarse edge onto the exact pixels of that
value near it; where the predicted region is not mostly one value (real scratches in a
user's photo), the network's mask is kept as it is.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from scipy import ndimage

from helpers.networks.tensors import bands, device_of, shrink, to_tensor, upsample_rows, work_scale, work_shape
from helpers.networks.tiling import forward_tiled


@torch.inference_mode()
def mask_logits(model: torch.nn.Module, gray: np.ndarray, scale: float) -> torch.Tensor:
    """The network's logits at its working scale, (B, 1, h, w) float, for (H, W) or (B, H, W) uint8."""
    stack = gray[None] if gray.ndim == 2 else gray
    x = to_tensor(shrink(stack, work_shape(*gray.shape[-2:], scale))).to(device_of(model))
    return forward_tiled(model, x).float().cpu()


def _full_size(logits: torch.Tensor, shape: tuple[int, int], n: int, fn, dtype) -> np.ndarray:
    """fn(probability band) of the logits upsampled to full size, computed band by band."""
    out = np.empty((n, *shape), dtype)
    for a, b in bands(shape[0], n * shape[1]):
        out[:, a:b] = fn(torch.sigmoid(upsample_rows(logits, shape, a, b))[:, 0].numpy())
    return out


def mask_probability(model: torch.nn.Module, gray: np.ndarray, scale: float) -> np.ndarray:
    """P(lost) per pixel of a (H, W) uint8 image, float32 (H, W); a stack (B, H, W) gives (B, H, W)."""
    prob = _full_size(mask_logits(model, gray, scale), gray.shape[-2:], 1 if gray.ndim == 2 else len(gray),
                      lambda p: p, np.float32)
    return prob[0] if gray.ndim == 2 else prob


def coarse_mask(model: torch.nn.Module, gray: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """P(lost) > threshold as a bool mask (1 byte a pixel at full size; no full-size floats)."""
    mask = _full_size(mask_logits(model, gray, scale), gray.shape[-2:], 1 if gray.ndim == 2 else len(gray),
                      lambda p: p > threshold, bool)
    return mask[0] if gray.ndim == 2 else mask


def bounding_box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The rows and columns holding `mask`'s pixels, widened by `margin` (None when empty)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)))


def snap_to_fill(gray: np.ndarray, coarse: np.ndarray, radius: int, min_flat: float = 0.6) -> np.ndarray:
    """Move a coarse region's edge onto the pixels of its fill value within `radius` pixels.

    Keeps only connected parts of the snapped region that overlap the coarse one, so a
    same-valued background further away is not swallowed. Returns `coarse` unchanged
    when it is empty or less than `min_flat` of it has one value. Works inside the
    region's bounding box (everything it can change lies within `radius` of it).
    """
    box = bounding_box(coarse, radius + 1)
    if box is None:
        return coarse
    out = np.zeros_like(coarse, dtype=bool)
    out[box] = _snap(gray[box], coarse[box], radius, min_flat)
    return out


def _snap(gray: np.ndarray, coarse: np.ndarray, radius: int, min_flat: float) -> np.ndarray:
    # Full-size temporaries are kept to a few bytes a pixel (a 110 MP scan taken for lost almost
    # whole needed 2.4 GB here with np.isin): the dilation and the test for the fill value share
    # one uint8 array, and the parts to keep are looked up in a table, band by band.
    hist = np.bincount(gray[coarse], minlength=256)
    fill = int(hist.argmax())
    if hist[fill] < min_flat * hist.sum():
        return coarse
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    snapped = cv2.dilate(np.ascontiguousarray(coarse).view(np.uint8), kernel).view(bool)  # near the region
    snapped &= gray == fill
    labels, n = ndimage.label(snapped)
    keep = np.zeros(n + 1, bool)  # parts that overlap the coarse region
    for a, b in bands(len(labels), labels.shape[1]):
        keep[labels[a:b][coarse[a:b] & snapped[a:b]]] = True
    keep[0] = False
    return keep[labels]


def snap_radius(scale: float) -> int:
    """How far (full-size pixels) snapping may move an edge: a few pixels of the network's grid."""
    return max(3, math.ceil(3 / scale))


def predict_mask(model: torch.nn.Module, gray: np.ndarray, scale: float, threshold: float = 0.5,
                 snap: bool = True) -> np.ndarray:
    """The lost region of a (H, W) uint8 image as a bool mask (of each image of a (B, H, W) stack)."""
    coarse = coarse_mask(model, gray, scale, threshold)
    if not snap:
        return coarse
    radius = snap_radius(work_scale(*gray.shape[-2:], scale))  # the network's grid on this image
    if gray.ndim == 3:
        return np.stack([snap_to_fill(g, c, radius=radius) for g, c in zip(gray, coarse)])
    return snap_to_fill(gray, coarse, radius=radius)


def iou_dice(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """IoU and Dice of two bool masks (both empty counts as a perfect match)."""
    inter = np.logical_and(pred, true).sum()
    union = np.logical_or(pred, true).sum()
    total = pred.sum() + true.sum()
    if union == 0:
        return 1.0, 1.0
    return float(inter / union), float(2 * inter / total)
