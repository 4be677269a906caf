"""Turning a generator's output into the restored RGB image, for each output recipe.

"rgb"    the seed's recipe: the generator's three channels are the RGB image.
"ycbcr"  keep what is known: the channels are (Y, Cb, Cr) in JPEG's full-range YCbCr,
         whose Y is the luma PIL's convert('L') computes (ITU-R 601-2). The input
         already is the exact Y outside the lost region, so the final Y is the input
         there; inside it, Y is the generator's correction added to `base`, the
         luminance the generator was shown (the flat fill, or a Telea prefill). Cb and
         Cr come from the generator everywhere. With the output layer at zero, the
         answer is `base` in gray: training starts from the classical answer.
         region_luma="base" ignores the generator's luminance altogether and keeps
         `base` (the Telea fill) inside the region: colour is all it adds.

All tensors are float in [0, 1], shaped (N, C, H, W).
"""
from __future__ import annotations

import torch

OUTPUTS = ("rgb", "ycbcr")
REGION_LUMA = ("generator", "base")

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


def compose(raw: torch.Tensor, gray: torch.Tensor, mask: torch.Tensor, output: str,
            base: torch.Tensor | None = None, region_luma: str = "generator") -> torch.Tensor:
    """The restored RGB image in [0, 1] from the generator's raw output.

    raw: (N, 3, H, W) generator output; gray: (N, 1, H, W) the damaged input; mask:
    (N, 1, H, W) lost region in [0, 1] (soft masks blend); base: the luminance the
    generator saw inside the region (default: `gray` itself); region_luma: "generator"
    (base + the generator's correction) or "base" (base alone).
    """
    if region_luma not in REGION_LUMA:
        raise ValueError(f"region_luma must be one of {REGION_LUMA}, got {region_luma!r}")
    if output == "rgb":
        return torch.sigmoid(raw)
    if output == "ycbcr":
        base = gray if base is None else base
        inside = base if region_luma == "base" else (base + raw[:, :1]).clamp(0, 1)
        y = mask * inside + (1 - mask) * gray
        return ycbcr_to_rgb(torch.cat([y, torch.sigmoid(raw[:, 1:])], dim=1)).clamp(0, 1)
    raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
