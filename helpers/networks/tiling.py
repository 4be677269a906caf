"""Running a fully convolutional network on an image of any size with bounded memory.

An image no larger than `tile` on both sides goes through in one piece. A larger one is
cut into overlapping tiles of `tile` x `tile`; each tile's output is weighted by a ramp
that falls towards the tile's edges (where the network saw the least context) and the
weighted outputs are averaged, so there are no seams. Memory then depends on the tile,
not on the photo.
"""
from __future__ import annotations

import torch

from helpers.networks.tensors import STRIDE

TILE = 512  # largest side (at the network's scale) run in one piece
OVERLAP = 64


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def _ramp(n: int, overlap: int, dtype) -> torch.Tensor:
    """1 in the middle, falling linearly to ~0 over `overlap` pixels at both ends."""
    w = torch.ones(n, dtype=dtype)
    if overlap > 0:
        edge = torch.arange(1, overlap + 1, dtype=dtype) / (overlap + 1)
        w[:overlap] = edge
        w[-overlap:] = edge.flip(0)
    return w


def forward_tiled(model, x: torch.Tensor, tile: int = TILE, overlap: int = OVERLAP) -> torch.Tensor:
    """model(x) for (N, C, H, W) x, computed tile by tile when H or W exceeds `tile`.

    H and W must be multiples of 32 (smp U-Nets); tile and overlap are rounded to them.
    """
    n, _, h, w = x.shape
    if h <= tile and w <= tile:
        return model(x)
    tile = max(STRIDE, tile // STRIDE * STRIDE)
    overlap = min(overlap, tile // 2) // STRIDE * STRIDE
    step = tile - overlap
    out = weight = None
    for top in _starts(h, tile, step):
        for left in _starts(w, tile, step):
            th, tw = min(tile, h), min(tile, w)
            y = model(x[:, :, top:top + th, left:left + tw])
            if out is None:
                out = torch.zeros(n, y.shape[1], h, w, dtype=y.dtype, device=y.device)
                weight = torch.zeros(1, 1, h, w, dtype=y.dtype, device=y.device)
            wy = _ramp(th, overlap if h > tile else 0, y.dtype)
            wx = _ramp(tw, overlap if w > tile else 0, y.dtype)
            wt = (wy[:, None] * wx[None, :])[None, None].to(y.device)
            out[:, :, top:top + th, left:left + tw] += y * wt
            weight[:, :, top:top + th, left:left + tw] += wt
    return out / weight
