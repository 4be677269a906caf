"""Filling the lost region: OpenCV's Telea method, and the learned inpainter on top of it.

Telea has three uses: a baseline on its own (gray + Telea inside the predicted region),
the "prefill" lever, where the generator sees the Telea-filled image instead of the
flat gray block, and the starting point the learned inpainter corrects (`learned_fill`).
`fill` is what restoration calls: either of them, in bounded work for a region of any size.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from helpers.networks.tensors import STRIDE, device_of, to_tensor, to_uint8
from helpers.networks.tiling import forward_tiled
from helpers.pipeline.masking import bounding_box

RADIUS = 5  # neighbourhood (pixels) Telea averages over


def telea(gray: np.ndarray, mask: np.ndarray, grow: int = 0, radius: int = RADIUS) -> np.ndarray:
    """`gray` (H, W) uint8 with the pixels of `mask` filled in from their surroundings.

    grow: dilate the mask by this many pixels first; a resized image blends the fill
    into its edge pixels, which should be filled too rather than copied inwards.
    """
    mask = np.asarray(mask, dtype=bool)
    # Telea reads pixels at most `radius` (+1 for its gradients) beyond the region, so
    # working in the region's box widened by radius + 3 gives the very same result
    # (checked in tests) at a fraction of the time and memory for a large photo.
    box = bounding_box(mask, radius + 3 + grow)
    if box is None:
        return gray
    m = mask[box].astype(np.uint8)
    if grow:
        m = cv2.dilate(m, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    out = gray.copy()
    out[box] = cv2.inpaint(np.ascontiguousarray(gray[box]), m, radius, cv2.INPAINT_TELEA)
    return out


# The most pixels of a region's box filled at full resolution: a larger one (most of a big scan
# taken for lost) is filled at a reduced scale and its fill enlarged, so Telea's and the
# inpainter's time and memory are bounded (a lost region has no detail to keep at full size).
FILL_MAX_PIXELS = 2048 * 2048

# The learned inpainter fills a region's box at most this many pixels per 512x512 of image (so
# 128x128 on a DACON image, proportionally more on a larger photo): a larger box is filled shrunk
# and its fill enlarged, as above. On v2 it restores 17 % more images a second for a score within
# 0.002 of the full-size fill (docs/design_notes.md has the measurement).
LEARNED_FILL_PIXELS = 128 * 128

# Known pixels around the region the learned inpainter sees, at least: the fill needs little
# beyond the edge, and a smaller box is faster (docs/design_notes.md has the measurement).
CONTEXT = 16


@torch.inference_mode()
def learned_fill(network, gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`gray` (H, W) uint8 with the pixels of `mask` filled by the learned inpainter.

    The network (helpers.training.inpainter) works at full resolution on the region's
    box widened by CONTEXT pixels, shown the Telea prefill and the region; its correction
    is added to the prefill and only the region's pixels change (a stack: `fill`).
    """
    mask = np.asarray(mask, dtype=bool)
    box = bounding_box(mask, CONTEXT)
    if box is None:
        return gray
    prefill, region = telea(gray, mask)[box], mask[box]
    h, w = prefill.shape
    ph, pw = -h % STRIDE, -w % STRIDE  # U-Net sides must be multiples of 32: mirror the edges
    x = np.pad(np.stack([prefill, region.astype(np.uint8) * 255]), ((0, 0), (0, ph), (0, pw)), mode="reflect")
    x = to_tensor(x).permute(1, 0, 2, 3)  # (1, 2, h, w)
    y = (x[:, :1] + forward_tiled(network, x.to(device_of(network))).float().cpu()).clamp(0, 1)
    out = gray.copy()
    crop = out[box]
    crop[region] = to_uint8(y[:, :, :h, :w])[0][region]
    return out


def fill(gray: np.ndarray, mask: np.ndarray, network=None) -> np.ndarray:
    """`gray` (H, W) uint8 with the pixels of `mask` filled by the learned inpainter (`network`)
    or by Telea (None). A region whose box (with CONTEXT) holds more than fill_cap() pixels is
    filled on the box shrunk to that many pixels and the fill enlarged back into the region.
    A stack (B, H, W) is filled image by image."""
    if gray.ndim == 3:
        return np.stack([fill(g, k, network) for g, k in zip(gray, mask)])
    mask = np.asarray(mask, dtype=bool)
    box = bounding_box(mask, CONTEXT)
    if box is None:
        return gray
    cap = fill_cap(gray.shape, network is not None)
    if math.prod(_sides(box)) <= cap:
        return _fill_here(gray, mask, network)
    box = bounding_box(mask, math.ceil(CONTEXT / _shrink(box, cap)))  # CONTEXT pixels around it once shrunk
    (bh, bw), scale = _sides(box), _shrink(box, cap)
    size = (max(1, round(bw * scale)), max(1, round(bh * scale)))
    small = cv2.resize(np.ascontiguousarray(gray[box]), size, interpolation=cv2.INTER_AREA)
    region = mask[box]
    touched = cv2.resize(region.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0  # any lost pixel
    filled = cv2.resize(_fill_here(small, touched, network), (bw, bh), interpolation=cv2.INTER_LINEAR)
    out = gray.copy()
    out[box][region] = filled[region]
    return out


def fill_cap(shape: tuple[int, int], learned: bool) -> int:
    """The most pixels of a region's box filled at full size in an image of `shape`."""
    if not learned:
        return FILL_MAX_PIXELS
    return min(FILL_MAX_PIXELS, max(LEARNED_FILL_PIXELS, round(LEARNED_FILL_PIXELS * shape[0] * shape[1] / 512 ** 2)))


def _fill_here(gray: np.ndarray, mask: np.ndarray, network) -> np.ndarray:
    return learned_fill(network, gray, mask) if network is not None else telea(gray, mask)


def _sides(box: tuple[slice, slice]) -> tuple[int, int]:
    return box[0].stop - box[0].start, box[1].stop - box[1].start


def _shrink(box: tuple[slice, slice], cap: int) -> float:
    """The scale at which `box` holds `cap` pixels."""
    h, w = _sides(box)
    return math.sqrt(cap / (h * w))
