"""The DACON 236420 score, computed exactly as the competition's evaluation does.

    Score = 0.2 * S + 0.4 * M + 0.4 * C      (each averaged over the images)

S  SSIM of the whole RGB image: skimage `structural_similarity`, channel_axis=-1,
   default 7x7 uniform window, data_range = pred.max() - pred.min() (the
   *prediction's* range, not 255).
M  the same call on the lost-region pixels only: truth[mask] vs pred[mask], an
   (N, 3) row-major sequence over which SSIM slides a 1-D window, data_range still
   from the whole prediction.
C  hue similarity: OpenCV HSV of both images, 180-bin histograms of H over
   [0, 180), each L2-normalised with cv2.normalize, compared by correlation.

The mask is input != PIL-gray(truth) (helpers.data.dacon.lost_region_mask).

Where the competition's formula is undefined it gives NaN or an infinity: SSIM with
data_range 0 (a prediction of one constant value) divides by zero on flat windows of
the truth. Such a part raises UndefinedScore instead of becoming a NaN that would turn
every mean it enters into NaN; where the formula is defined, its value is kept as is.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from skimage.metrics import structural_similarity

WEIGHTS = {"S": 0.2, "M": 0.4, "C": 0.4}
SSIM_WINDOW = 7  # skimage's default win_size; M needs at least this many lost pixels


class UndefinedScore(ValueError):
    """The competition's formula gives no number for this image (says which part and why)."""


def _defined(value: float, part: str, pred: np.ndarray) -> float:
    if np.isfinite(value):
        return value
    why = (" because the prediction is one constant value, so data_range = max - min = 0 and SSIM divides by zero"
           if _data_range(pred) == 0 else "")
    raise UndefinedScore(f"{part} is undefined ({value}){why}")


@dataclass(frozen=True)
class ImageScore:
    S: float
    M: float
    C: float

    @property
    def score(self) -> float:
        return WEIGHTS["S"] * self.S + WEIGHTS["M"] * self.M + WEIGHTS["C"] * self.C

    def as_dict(self) -> dict:
        return {**asdict(self), "score": self.score}


def _check(true: np.ndarray, pred: np.ndarray) -> None:
    for name, a in (("truth", true), ("prediction", pred)):
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"{name} must be a uint8 (H, W, 3) RGB array, got {a.dtype} {a.shape}")
    if true.shape != pred.shape:
        raise ValueError(f"truth {true.shape} and prediction {pred.shape} differ in size")


def _data_range(pred: np.ndarray) -> float:
    return float(pred.max()) - float(pred.min())


def ssim_score(true: np.ndarray, pred: np.ndarray) -> float:
    """S: SSIM over the whole RGB image, data_range from the prediction."""
    _check(true, pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(structural_similarity(true, pred, channel_axis=-1, data_range=_data_range(pred)))
    return _defined(value, "S", pred)


def masked_ssim_score(true: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """M: SSIM along the (N, 3) sequence of lost-region pixels, data_range from the whole prediction."""
    _check(true, pred)
    mask = np.asarray(mask) > 0
    if mask.shape != true.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match the image {true.shape[:2]}")
    if mask.sum() < SSIM_WINDOW:
        raise ValueError(f"lost region has {int(mask.sum())} pixels; the score needs at least {SSIM_WINDOW}")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(structural_similarity(true[mask], pred[mask], channel_axis=-1, data_range=_data_range(pred)))
    return _defined(value, "M", pred)


def hue_histogram(rgb: np.ndarray) -> np.ndarray:
    """180-bin OpenCV hue histogram, L2-normalised (float32, shape (180,))."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0], None, [180], [0, 180])
    return cv2.normalize(hist, hist).flatten()


def histogram_similarity(true: np.ndarray, pred: np.ndarray) -> float:
    """C: correlation of the two hue histograms."""
    _check(true, pred)
    return _defined(float(cv2.compareHist(hue_histogram(true), hue_histogram(pred), cv2.HISTCMP_CORREL)), "C", pred)


def score_image(true: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> ImageScore:
    """S, M and C of one prediction against its truth."""
    return ImageScore(ssim_score(true, pred), masked_ssim_score(true, pred, mask),
                      histogram_similarity(true, pred))


def aggregate(scores: list[ImageScore]) -> dict:
    """The competition's numbers: the mean of S, M and C over images and their weighted sum."""
    if not scores:
        raise ValueError("no images to score")
    means = {k: float(np.mean([getattr(s, k) for s in scores])) for k in WEIGHTS}
    return {**means, "score": sum(WEIGHTS[k] * means[k] for k in WEIGHTS), "n": len(scores)}


def m_luminance(gray_truth: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> float:
    """The score's M on the luminance alone (both images as gray RGB): a fill's share of the score."""
    rgb = lambda g: np.repeat(g[..., None], 3, axis=2)
    return masked_ssim_score(rgb(gray_truth), rgb(filled), mask)


# Not part of the score: how far the predicted hue is from the truth's where the truth has
# colour (OpenCV HSV saturation and value at least 0.2 of their range), in degrees.
COLOURED = 51  # 0.2 x 255


def hue_errors(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-pixel hue difference in degrees (0..180) over the truth's coloured pixels."""
    _check(true, pred)
    t = cv2.cvtColor(true, cv2.COLOR_RGB2HSV)
    p = cv2.cvtColor(pred, cv2.COLOR_RGB2HSV)
    coloured = (t[..., 1] >= COLOURED) & (t[..., 2] >= COLOURED)
    d = np.abs(t[..., 0][coloured].astype(np.int16) - p[..., 0][coloured]) * 2  # OpenCV hue is degrees / 2
    return np.minimum(d, 360 - d).astype(np.uint16)


def hue_error_summary(histogram: np.ndarray) -> dict:
    """Median hue error and the share within 20 degrees, from a 181-bin histogram of hue_errors."""
    total = int(histogram.sum())
    if total == 0:  # no coloured pixel in any truth
        return {"hue_err": None, "hue_within_20": None}
    cdf = np.cumsum(histogram)
    return {"hue_err": float(np.searchsorted(cdf, total / 2)), "hue_within_20": float(cdf[20] / total)}
