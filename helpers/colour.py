"""Turning a generator's output into the restored RGB image, for each output recipe.

"rgb"    the seed's recipe: the generator's three channels are the RGB image.
"ycbcr"  keep what is known: the channels are (Y, Cb, Cr) in JPEG's full-range YCbCr,
         whose Y is the luma PIL's convert('L') computes (ITU-R 601-2). The input
         already is the exact Y outside the lost region, so the final Y is the input
         there and the generator's Y only inside the region; Cb and Cr come from the
         generator everywhere.

All tensors are float in [0, 1], shaped (N, C, H, W).
"""
from __future__ import annotations

import torch

OUTPUTS = ("rgb", "ycbcr")

_TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114],
                          [-0.168736, -0.331264, 0.5],
                          [0.5, -0.418688, -0.081312]])
_TO_RGB = torch.tensor([[1.0, 0.0, 1.402],
                        [1.0, -0.344136, -0.714136],
                        [1.0, 1.772, 0.0]])


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    ycc = torch.einsum("ij,njhw->nihw", _TO_YCBCR.to(rgb), rgb)
    return ycc + torch.tensor([0.0, 0.5, 0.5]).to(rgb).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    centred = ycc - torch.tensor([0.0, 0.5, 0.5]).to(ycc).view(1, 3, 1, 1)
    return torch.einsum("ij,njhw->nihw", _TO_RGB.to(ycc), centred)


def compose(raw: torch.Tensor, gray: torch.Tensor, mask: torch.Tensor, output: str) -> torch.Tensor:
    """The restored RGB image in [0, 1] from the generator's raw output (logits).

    raw: (N, 3, H, W) generator output before its sigmoid; gray: (N, 1, H, W) the
    damaged input; mask: (N, 1, H, W) lost region in [0, 1] (soft masks blend).
    """
    out = torch.sigmoid(raw)
    if output == "rgb":
        return out
    if output == "ycbcr":
        y = mask * out[:, :1] + (1 - mask) * gray
        return ycbcr_to_rgb(torch.cat([y, out[:, 1:]], dim=1)).clamp(0, 1)
    raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
