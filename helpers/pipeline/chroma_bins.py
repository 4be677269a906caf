"""Colour as a classification over quantised chroma, after Zhang, Isola and Efros (ECCV 2016).

Regressing chroma with L1 answers the median of the plausible colours, a dull brownish
gray whose hue is often wrong; the score's colour part C compares hue histograms over
all pixels, whatever their saturation, so a wrong hue costs as much as a missing one.
Instead the generator predicts, per pixel, a distribution over Q chroma bins:
    bins         the (Cb, Cr) plane of full-range YCbCr cut into a GRID x GRID grid; the
                 bins kept are those a photo's pixels can fall in (in the RGB gamut for
                 some luma), Q of them
    targets      each truth pixel's chroma soft-encoded on its K nearest bin centres
                 (Gaussian weights, sigma SIGMA), as in the paper
    rebalancing  rare colours weigh more in the cross-entropy: w ~ ((1 - LAMBDA) p + LAMBDA / Q)^-1,
                 p the bins' smoothed frequency in the training truths, normalised to E[w] = 1
    decoding     the annealed mean: softmax(logits / T) averaged over the bin centres,
                 T = 0.38 (between the mean, too dull, and the mode, too patchy)
All tensors are float; chroma is in [0, 1] with gray at 0.5 (helpers.pipeline.colour).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

GRID = 16  # bins per side of the (Cb, Cr) square
K = 5  # nearest bins a truth's chroma is spread over
SIGMA = 0.05  # their Gaussian width, in chroma units (about the distance between bin centres / 1.3)
LAMBDA = 0.5  # how far the rebalancing weights lean towards uniform
TEMPERATURE = 0.38


def _in_gamut(cb: torch.Tensor, cr: torch.Tensor, steps: int = 33) -> torch.Tensor:
    """Whether some luma in [0, 1] turns (cb, cr) into an RGB colour inside [0, 1]^3."""
    y = torch.linspace(0, 1, steps).view(-1, 1)
    r = y + 1.402 * (cr - 0.5)
    g = y - 0.344136 * (cb - 0.5) - 0.714136 * (cr - 0.5)
    b = y + 1.772 * (cb - 0.5)
    inside = ((r >= 0) & (r <= 1) & (g >= 0) & (g <= 1) & (b >= 0) & (b <= 1))
    return inside.any(dim=0)


def centres() -> torch.Tensor:
    """(Q, 2) bin centres (Cb, Cr) of the in-gamut bins, in a fixed order."""
    step = 1.0 / GRID
    c = torch.arange(GRID, dtype=torch.float32) * step + step / 2
    cb, cr = torch.meshgrid(c, c, indexing="ij")
    cb, cr = cb.reshape(-1), cr.reshape(-1)
    keep = _in_gamut(cb, cr)
    return torch.stack([cb[keep], cr[keep]], dim=1)


CENTRES = centres()
Q = len(CENTRES)


def soft_targets(chroma: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) truth chroma -> (N, Q, H, W) soft one-hot on the K nearest bins."""
    n, _, h, w = chroma.shape
    pts = chroma.permute(0, 2, 3, 1).reshape(-1, 1, 2)
    d2 = ((pts - CENTRES.to(chroma).unsqueeze(0)) ** 2).sum(-1)  # (P, Q)
    near_d2, near = d2.topk(K, dim=1, largest=False)
    weights = torch.softmax(-near_d2 / (2 * SIGMA ** 2), dim=1)
    out = torch.zeros_like(d2).scatter_(1, near, weights)
    return out.view(n, h, w, -1).permute(0, 3, 1, 2)


def bin_frequencies(chromas, smooth: float = 1.0) -> torch.Tensor:
    """(Q,) smoothed frequency of the bins over an iterable of (N, 2, H, W) truth chroma tensors."""
    counts = torch.zeros(Q)
    for chroma in chromas:
        counts += soft_targets(chroma).sum(dim=(0, 2, 3))
    p = counts / counts.sum().clamp(min=1e-12)
    # smooth over neighbouring bins, as the paper does with a Gaussian over the ab plane
    d2 = ((CENTRES.unsqueeze(1) - CENTRES.unsqueeze(0)) ** 2).sum(-1)
    kernel = torch.exp(-d2 / (2 * (smooth * SIGMA) ** 2))
    p = kernel @ p / kernel.sum(dim=1)
    return p / p.sum()


def rebalancing_weights(freq: torch.Tensor) -> torch.Tensor:
    """(Q,) class weights from the bins' frequencies: rare colours count more, E_p[w] = 1."""
    w = 1.0 / ((1 - LAMBDA) * freq + LAMBDA / Q)
    return w / (freq * w).sum()


def annealed_mean(logits: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """(N, Q, H, W) logits -> (N, 2, H, W) chroma: softmax(logits / T) averaged over the bin centres."""
    p = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", p, CENTRES.to(logits))


def classification_loss(logits: torch.Tensor, chroma: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Rebalanced cross-entropy of the predicted bin distribution against the soft-encoded truth.

    logits: (N, Q, h, w) at the generator's resolution; chroma: (N, 2, h, w) truth chroma;
    weights: (Q,) from rebalancing_weights. Each pixel weighs by its truth's nearest bin.
    """
    target = soft_targets(chroma)
    pixel_w = weights.to(logits)[target.argmax(dim=1)]  # (N, h, w)
    ce = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)
    return (pixel_w * ce).mean()
