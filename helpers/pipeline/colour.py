"""Turning a generator's output into the restored RGB image, for each output recipe.

Two steps: `decode` turns the raw output into three channels in [0, 1] at the
generator's resolution, `compose` builds the image from them and the known input.

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

Chroma is regressed (chroma="regress": two channels through a sigmoid) or classified
(chroma="bins": one logit per quantised chroma bin, decoded by their annealed mean,
helpers.pipeline.chroma_bins). All tensors are float in [0, 1], shaped (N, C, H, W).
"""
from __future__ import annotations

import torch

from helpers.pipeline import chroma_bins


def out_channels(output: str, chroma: str) -> int:
    """How many channels the generator outputs for a recipe."""
    return 1 + chroma_bins.Q if (output, chroma) == ("ycbcr", "bins") else 3


def decode(raw: torch.Tensor, output: str, chroma: str = "regress") -> torch.Tensor:
    """(N, 3, h, w) in [0, 1] from the generator's raw output: RGB, or (luma correction, Cb, Cr)."""
    if output == "rgb":
        return torch.sigmoid(raw)
    if chroma == "bins":
        return torch.cat([raw[:, :1], chroma_bins.annealed_mean(raw[:, 1:])], dim=1)
    return torch.cat([raw[:, :1], torch.sigmoid(raw[:, 1:])], dim=1)

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


def compose(decoded: torch.Tensor, gray: torch.Tensor, mask: torch.Tensor, output: str,
            base: torch.Tensor | None = None, region_luma: str = "generator") -> torch.Tensor:
    """The restored RGB image in [0, 1] from the decoded generator output.

    decoded: (N, 3, H, W) from `decode`; gray: (N, 1, H, W) the damaged input; mask:
    (N, 1, H, W) lost region in [0, 1] (soft masks blend); base: the luminance the
    generator saw inside the region (default: `gray` itself); region_luma: "generator"
    (base + the generator's correction) or "base" (base alone).
    """
    if output == "rgb":
        return decoded
    if output == "ycbcr":
        base = gray if base is None else base
        inside = base if region_luma == "base" else (base + decoded[:, :1]).clamp(0, 1)
        y = mask * inside + (1 - mask) * gray
        return ycbcr_to_rgb(torch.cat([y, decoded[:, 1:]], dim=1)).clamp(0, 1)
    raise ValueError(f"output must be 'rgb' or 'ycbcr', got {output!r}")
