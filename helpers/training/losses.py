"""Training losses shaped like the score: SSIM inside the lost region (its M) and a soft hue histogram (its C).

`region_loss` (the learned inpainter): L1 plus (1 - SSIM) over the region's pixels, with
the score's 7x7 uniform SSIM windows.

The hue loss is a differentiable stand-in for the score's colour part C (hue-histogram correlation).

C compares 180-bin histograms of OpenCV's HSV hue. A generator trained with L1 alone
drifts to low-chroma answers whose pixels round to exact grays, and OpenCV puts every
gray pixel in hue bin 0: the histogram collapses and C with it. `hue_correlation_loss`
computes the same histogram softly so it can be trained against:
    - hue as OpenCV defines it (hexcone, degrees / 2), from float RGB;
    - each pixel split between its two nearest bins (linear weights, differentiable in
      the hue), and gated towards bin 0 as its chroma falls below one 8-bit step (what
      rounding to uint8 would make gray);
    - both histograms smoothed by the same small circular Gaussian so that the loss
      also says which way a hue should move, then 1 - Pearson correlation per image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

BINS = 180


def opencv_hue(rgb: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Hue in OpenCV's 8-bit units [0, 180) and chroma (max - min), for (N, 3, H, W) RGB in [0, 1]."""
    r, g, b = rgb.unbind(1)
    mx, arg = rgb.max(1)
    chroma = mx - rgb.min(1).values
    d = chroma + eps
    h = torch.where(arg == 0, 60 * (g - b) / d,
                    torch.where(arg == 1, 120 + 60 * (b - r) / d, 240 + 60 * (r - g) / d))
    return torch.remainder(h, 360) / 2, chroma


def soft_hue_histogram(rgb: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """(N, 180) soft hue histograms of (N, 3, H, W) RGB in [0, 1], each summing to 1."""
    hue, chroma = opencv_hue(rgb)
    hue, chroma = hue.flatten(1), chroma.flatten(1)
    coloured = torch.sigmoid((chroma * 255 - 0.5) / 0.5)  # falls off as rounding to 8 bits would make R = G = B
    lo = hue.floor()
    w_hi = hue - lo
    lo = lo.long() % BINS
    hist = torch.zeros(rgb.shape[0], BINS, dtype=rgb.dtype, device=rgb.device)
    hist = hist.scatter_add(1, lo, coloured * (1 - w_hi)).scatter_add(1, (lo + 1) % BINS, coloured * w_hi)
    hist[:, 0] += (1 - coloured).sum(1)
    return _circular_blur(hist / hue.shape[1], sigma)


def _circular_blur(hist: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return hist
    r = int(3 * sigma + 0.5)
    x = torch.arange(-r, r + 1, dtype=hist.dtype, device=hist.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    padded = F.pad(hist[:, None], (r, r), mode="circular")
    return F.conv1d(padded, (k / k.sum()).view(1, 1, -1))[:, 0]


def correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of the rows of a and b (what cv2.HISTCMP_CORREL computes)."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def hue_correlation_loss(pred: torch.Tensor, truth: torch.Tensor, size: int = 128) -> torch.Tensor:
    """Mean over the batch of 1 - corr(soft hue histogram of pred, of truth); RGB in [0, 1].

    Images are area-resized to `size` first: histograms are global, and it keeps the cost small.
    """
    if pred.shape[-1] > size:
        pred = F.adaptive_avg_pool2d(pred, size)
        truth = F.adaptive_avg_pool2d(truth, size)
    with torch.no_grad():
        target = soft_hue_histogram(truth)
    return (1 - correlation(soft_hue_histogram(pred), target)).mean()


SSIM_WINDOW = 7  # the score's SSIM window


def masked_ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (7x7 uniform windows, as skimage) over the mask's pixels; (N, 1, H, W) in [0, 1]."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda t: F.avg_pool2d(t, SSIM_WINDOW, stride=1, padding=SSIM_WINDOW // 2, count_include_pad=False)
    mu_p, mu_t = pool(pred), pool(target)
    var_p = pool(pred * pred) - mu_p ** 2
    var_t = pool(target * target) - mu_t ** 2
    cov = pool(pred * target) - mu_p * mu_t
    ssim = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p ** 2 + mu_t ** 2 + c1) * (var_p + var_t + c2))
    return (ssim * mask).sum() / mask.sum().clamp(min=1)


def region_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, ssim_weight: float) -> dict:
    l1 = ((pred - target).abs() * mask).sum() / mask.sum().clamp(min=1)
    ssim = masked_ssim(pred, target, mask)
    return {"l1": l1, "ssim": ssim, "total": l1 + ssim_weight * (1 - ssim)}

