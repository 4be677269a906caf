"""An independent implementation of the DACON score, written from dacon.md alone.

Nothing here calls skimage or OpenCV: SSIM is the Wang et al. formula with a 7-wide
uniform window (sample covariance, borders cropped, mean over channels, as the
spec's skimage call does) and the hue is OpenCV's documented 8-bit RGB->HSV integer
arithmetic. The tests check helpers.scoring.metrics against it.
"""
import numpy as np

WIN = 7
K1, K2 = 0.01, 0.03


def _box_mean(a: np.ndarray) -> np.ndarray:
    """Mean over every full WIN-wide window along each axis ('valid' positions only)."""
    for axis in range(a.ndim):
        c = np.cumsum(np.moveaxis(a, axis, 0), axis=0)
        c = np.concatenate([np.zeros_like(c[:1]), c], axis=0)
        a = np.moveaxis((c[WIN:] - c[:-WIN]) / WIN, 0, axis)
    return a


def ssim_channel(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    n = WIN ** x.ndim
    cov_norm = n / (n - 1)
    ux, uy = _box_mean(x), _box_mean(y)
    vx = cov_norm * (_box_mean(x * x) - ux * ux)
    vy = cov_norm * (_box_mean(y * y) - uy * uy)
    vxy = cov_norm * (_box_mean(x * y) - ux * uy)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def ssim_rgb(true: np.ndarray, pred: np.ndarray, data_range: float) -> float:
    """Mean over the last axis of per-channel SSIM (works for (H, W, 3) and (N, 3))."""
    return float(np.mean([ssim_channel(true[..., c], pred[..., c], data_range)
                          for c in range(true.shape[-1])]))


def opencv_hue(rgb: np.ndarray) -> np.ndarray:
    """H of OpenCV's 8-bit RGB->HSV (range 0..179), integer arithmetic with 12-bit fixed point."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    v = np.maximum(np.maximum(r, g), b)
    diff = v - np.minimum(np.minimum(r, g), b)
    shift = 12
    table = np.zeros(256, np.int64)
    table[1:] = np.round((180 << shift) / (6.0 * np.arange(1, 256)))
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * table[diff] + (1 << (shift - 1))) >> shift
    return np.where(h < 0, h + 180, h)


def hue_correlation(true: np.ndarray, pred: np.ndarray) -> float:
    h1 = np.bincount(opencv_hue(true).ravel(), minlength=180).astype(np.float64)
    h2 = np.bincount(opencv_hue(pred).ravel(), minlength=180).astype(np.float64)
    d1, d2 = h1 - h1.mean(), h2 - h2.mean()
    return float((d1 * d2).sum() / np.sqrt((d1 * d1).sum() * (d2 * d2).sum()))


def gray(rgb: np.ndarray) -> np.ndarray:
    """PIL's convert('L'): L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def score(true: np.ndarray, pred: np.ndarray, input_gray: np.ndarray) -> dict:
    data_range = float(pred.max()) - float(pred.min())
    mask = input_gray != gray(true)
    s = ssim_rgb(true, pred, data_range)
    m = ssim_rgb(true[mask], pred[mask], data_range)
    c = hue_correlation(true, pred)
    return {"S": s, "M": m, "C": c, "score": 0.2 * s + 0.4 * m + 0.4 * c}
