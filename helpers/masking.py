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

STRIDE = 32  # smp U-Nets need sides divisible by 2**depth


def work_shape(h: int, w: int, scale: float) -> tuple[int, int]:
    """Side lengths the networks see for an (h, w) image: scaled, rounded to multiples of 32."""
    return (max(STRIDE, round(h * scale / STRIDE) * STRIDE), max(STRIDE, round(w * scale / STRIDE) * STRIDE))


def to_tensor(gray: np.ndarray) -> torch.Tensor:
    """(H, W) uint8 -> (1, 1, H, W) float in [0, 1]."""
    return torch.from_numpy(np.array(gray, dtype=np.float32)).div_(255.0)[None, None]  # a writable copy


def resize(t: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if tuple(t.shape[-2:]) == tuple(shape):
        return t
    shrinking = shape[0] < t.shape[-2]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=shrinking)


@torch.inference_mode()
def mask_probability(model: torch.nn.Module, gray: np.ndarray, scale: float) -> np.ndarray:
    """P(lost) per pixel of a (H, W) uint8 image, float32 (H, W)."""
    x = to_tensor(gray)
    logits = model(resize(x, work_shape(*gray.shape, scale)))
    return torch.sigmoid(resize(logits, gray.shape)).squeeze().numpy().astype(np.float32)


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
    """The lost region of a (H, W) uint8 image as a bool mask."""
    coarse = mask_probability(model, gray, scale) > threshold
    if not snap:
        return coarse
    return snap_to_fill(gray, coarse, radius=snap_radius(scale))


def iou_dice(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """IoU and Dice of two bool masks (both empty counts as a perfect match)."""
    inter = np.logical_and(pred, true).sum()
    union = np.logical_or(pred, true).sum()
    total = pred.sum() + true.sum()
    if union == 0:
        return 1.0, 1.0
    return float(inter / union), float(2 * inter / total)
