"""Moving images between uint8 arrays and network tensors, at the network's scale and back.

Full-resolution data stays uint8 (1 byte a pixel); float tensors exist only at the
network's (smaller) working scale or for a band of rows at a time, so memory for a
large photo grows by a few bytes a pixel, not by the ~80 a float pipeline would use.
A network sees at most MAX_WORK_PIXELS of an image, so its time per image is bounded too.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

STRIDE = 32  # smp U-Nets need sides divisible by 2**depth
BAND_PIXELS = 1 << 20  # full-resolution pixels per band when composing (a few MB of floats)
# The most pixels a network sees of one image: 2048 x 2048, 64 times the mask model's view of a
# DACON image. A photo larger than that at the network's training scale is seen smaller still,
# so a network's time and memory per image are bounded whatever the photo's size (a 110 MP
# black scan took 6 minutes before, most of it in networks run over 27 MP or more).
MAX_WORK_PIXELS = 2048 * 2048


def work_scale(h: int, w: int, scale: float) -> float:
    """The scale a network works at on an (h, w) image: its training `scale`, or less where that
    would show it more than MAX_WORK_PIXELS."""
    return min(scale, math.sqrt(MAX_WORK_PIXELS / (h * w)))


def work_shape(h: int, w: int, scale: float) -> tuple[int, int]:
    """Side lengths the networks see for an (h, w) image: at work_scale, rounded to multiples of 32."""
    scale = work_scale(h, w, scale)
    return (max(STRIDE, round(h * scale / STRIDE) * STRIDE), max(STRIDE, round(w * scale / STRIDE) * STRIDE))


def to_tensor(gray: np.ndarray) -> torch.Tensor:
    """(H, W) or a stack (B, H, W) of uint8 images -> (B, 1, H, W) float in [0, 1]."""
    t = torch.from_numpy(np.array(gray, dtype=np.float32)).div_(255.0)  # a writable copy
    return t[None, None] if t.ndim == 2 else t[:, None]


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) float in [0, 1] -> (B, H, W) for C = 1, else (B, H, W, C), uint8."""
    a = (t.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).byte().numpy()
    return a[..., 0] if t.shape[1] == 1 else a


def device_of(model) -> torch.device:
    """Where a torch module's weights live (an ONNX Runtime net runs on the CPU)."""
    first = next(model.parameters(), None) if hasattr(model, "parameters") else None
    return first.device if first is not None else torch.device("cpu")


def resize(t: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a float (N, C, H, W) tensor (antialiased when shrinking)."""
    if tuple(t.shape[-2:]) == tuple(shape):
        return t
    shrinking = shape[0] < t.shape[-2]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=shrinking)


def shrink(images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 (H, W) or (B, H, W) resized to `shape` = (h, w) with PIL's bilinear filter.

    The same filter the training data went through (helpers.training.datasets); it is
    antialiased when shrinking and works on uint8, so a large photo is never held as
    floats at full size.
    """
    def one(a):
        if a.shape == tuple(shape):
            return a
        return np.asarray(Image.fromarray(a).resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
    return one(images) if images.ndim == 2 else np.stack([one(a) for a in images])


def _source_index(out_len: int, in_len: int, start: int, stop: int):
    """Bilinear source indices and weights for output positions start..stop (align_corners=False),
    the arithmetic of torch's upsample_bilinear2d."""
    scale = in_len / out_len
    src = ((torch.arange(start, stop, dtype=torch.float32) + 0.5) * scale - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=in_len - 1)
    i1 = (i0 + 1).clamp(max=in_len - 1)
    return i0, i1, (src - i0).clamp(0, 1)


def upsample_rows(small: torch.Tensor, shape: tuple[int, int], start: int, stop: int) -> torch.Tensor:
    """Rows start..stop of `small` (N, C, h, w) bilinearly upsampled to `shape` = (H, W).

    Equal to resize(small, shape)[:, :, start:stop] for an enlargement, without ever
    making the whole full-size tensor.
    """
    n, c, h, w = small.shape
    H, W = shape
    if H < h or W < w or (start, stop) == (0, H):  # a tiny image, or all rows at once: torch's own
        return resize(small, shape)[:, :, start:stop]
    r0, r1, wr = _source_index(H, h, start, stop)
    c0, c1, wc = _source_index(W, w, 0, W)
    rows = torch.lerp(small.index_select(2, r0), small.index_select(2, r1), wr[:, None])
    return torch.lerp(rows.index_select(3, c0), rows.index_select(3, c1), wc)


def bands(height: int, row_pixels: int):
    """Row ranges (start, stop) covering `height` rows, each about BAND_PIXELS pixels."""
    step = max(1, BAND_PIXELS // max(1, row_pixels))
    for start in range(0, height, step):
        yield start, min(height, start + step)
