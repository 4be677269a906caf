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
import torch.nn.functional as F
from scipy import ndimage

from .tiling import STRIDE, forward_tiled


def work_shape(h: int, w: int, scale: float) -> tuple[int, int]:
    """Side lengths the networks see for an (h, w) image: scaled, rounded to multiples of 32."""
    return (max(STRIDE, round(h * scale / STRIDE) * STRIDE), max(STRIDE, round(w * scale / STRIDE) * STRIDE))


def to_tensor(gray: np.ndarray) -> torch.Tensor:
    """(H, W) or a stack (B, H, W) of uint8 images -> (B, 1, H, W) float in [0, 1]."""
    t = torch.from_numpy(np.array(gray, dtype=np.float32)).div_(255.0)  # a writable copy
    return t[None, None] if t.ndim == 2 else t[:, None]


def device_of(model) -> torch.device:
    """Where a torch module's weights live (an ONNX Runtime net runs on the CPU)."""
    params = getattr(model, "parameters", None)
    return next(params()).device if params is not None else torch.device("cpu")


def resize(t: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if tuple(t.shape[-2:]) == tuple(shape):
        return t
    shrinking = shape[0] < t.shape[-2]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=shrinking)


@torch.inference_mode()
def mask_probability(model: torch.nn.Module, gray: np.ndarray, scale: float) -> np.ndarray:
    """P(lost) per pixel of a (H, W) uint8 image, float32 (H, W); a stack (B, H, W) gives (B, H, W)."""
    x = to_tensor(gray).to(device_of(model))
    logits = forward_tiled(model, resize(x, work_shape(*gray.shape[-2:], scale))).float().cpu()
    prob = torch.sigmoid(resize(logits, gray.shape[-2:]))[:, 0].numpy().astype(np.float32)
    return prob[0] if gray.ndim == 2 else prob


def snap_to_fill(gray: np.ndarray, coarse: np.ndarray, radius: int, min_flat: float = 0.6) -> np.ndarray:
    """Move a coarse region's edge onto the pixels of its fill value within `radius` pixels.

    Keeps only connected parts of the snapped region that overlap the coarse one, so a
    same-valued background further away is not swallowed. Returns `coarse` unchanged
    when it is empty or less than `min_flat` of it has one value.
    """
    if not coarse.any():
        return coarse
    values = gray[coarse]
    fill = int(np.bincount(values, minlength=256).argmax())
    if (values == fill).mean() < min_flat:
        return coarse
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near = cv2.dilate(coarse.astype(np.uint8), kernel).astype(bool)
    snapped = near & (gray == fill)
    labels, _ = ndimage.label(snapped)
    keep = np.unique(labels[coarse & snapped])
    return np.isin(labels, keep[keep > 0])


def snap_radius(scale: float) -> int:
    """How far (full-size pixels) snapping may move an edge: a few pixels of the network's grid."""
    return max(3, math.ceil(3 / scale))


def predict_mask(model: torch.nn.Module, gray: np.ndarray, scale: float, threshold: float = 0.5,
                 snap: bool = True) -> np.ndarray:
    """The lost region of a (H, W) uint8 image as a bool mask (of each image of a (B, H, W) stack)."""
    coarse = mask_probability(model, gray, scale) > threshold
    if not snap:
        return coarse
    if gray.ndim == 3:
        return np.stack([snap_to_fill(g, c, radius=snap_radius(scale)) for g, c in zip(gray, coarse)])
    return snap_to_fill(gray, coarse, radius=snap_radius(scale))


def iou_dice(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """IoU and Dice of two bool masks (both empty counts as a perfect match)."""
    inter = np.logical_and(pred, true).sum()
    union = np.logical_or(pred, true).sum()
    total = pred.sum() + true.sum()
    if union == 0:
        return 1.0, 1.0
    return float(inter / union), float(2 * inter / total)
