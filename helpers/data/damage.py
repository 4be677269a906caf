"""Lost regions like the competition's: one solid shape, one uniform gray fill.

What the competition's real inputs show (as measured on a handful of its files and
reported in public write-ups of DACON 236420): exactly one region per image, shapes circle / axis-aligned rectangle / thin bar / triangle / concave star
polygon, 1 % to 12 % of the image area, filled with a single gray value (seen
0, 2, 6, 73, 80, 86). Shapes are drawn without anti-aliasing so the region is a
flat fill with sharp edges, as in the real data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

SHAPES = ("circle", "rectangle", "bar", "triangle", "star")
MIN_AREA, MAX_AREA = 0.01, 0.12
FILL_MAX = 100


@dataclass(frozen=True)
class Damage:
    shape: str
    fill: int
    mask: np.ndarray  # bool (H, W), True inside the lost region

    @property
    def area_frac(self) -> float:
        return float(self.mask.mean())


def sample_fill(rng: np.random.Generator) -> int:
    """A gray value in 0..100, weighted towards dark (Beta(0.7, 1.5): median about 25)."""
    return int(min(FILL_MAX, np.floor(rng.beta(0.7, 1.5) * (FILL_MAX + 1))))


def _polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def _triangle(rng: np.random.Generator) -> np.ndarray:
    # three angles on a circle, resampled until no interior angle is a sliver (< 25 deg)
    while True:
        a = np.sort(rng.uniform(0, 2 * np.pi, 3))
        arcs = np.diff(np.r_[a, a[0] + 2 * np.pi])  # inscribed angle = half the opposite arc
        if arcs.min() / 2 > np.deg2rad(25):
            return np.c_[np.cos(a), np.sin(a)]


def _star(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(5, 9))
    inner = rng.uniform(0.35, 0.6)
    a = rng.uniform(0, 2 * np.pi) + np.arange(2 * n) * np.pi / n
    r = np.where(np.arange(2 * n) % 2 == 0, 1.0, inner)
    return np.c_[r * np.cos(a), r * np.sin(a)]


def _shape_outline(shape: str, area_px: float, size: int, rng: np.random.Generator):
    """('ellipse' | 'polygon', points relative to the shape's own origin) with the target area."""
    if shape == "circle":
        r = np.sqrt(area_px / np.pi)
        return "ellipse", np.array([[-r, -r], [r, r]])
    if shape in ("rectangle", "bar"):
        if shape == "rectangle":
            aspect = np.exp(rng.uniform(np.log(1 / 2.5), np.log(2.5)))  # width / height
            w = np.sqrt(area_px * aspect)
            h = area_px / w
        else:  # thin bar: long side 5-20x the short side, capped by the image
            aspect = rng.uniform(5, 20)
            w = min(np.sqrt(area_px * aspect), 0.95 * size)
            h = area_px / w
            if rng.random() < 0.5:
                w, h = h, w
        return "polygon", np.array([[0, 0], [w, 0], [w, h], [0, h]])
    pts = _triangle(rng) if shape == "triangle" else _star(rng)
    return "polygon", pts * np.sqrt(area_px / _polygon_area(pts))


def _rasterize(kind: str, pts: np.ndarray, size: int) -> np.ndarray:
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if kind == "ellipse":
        draw.ellipse([tuple(pts[0]), tuple(pts[1])], fill=1)
    else:
        draw.polygon([tuple(p) for p in pts], fill=1)
    return np.asarray(canvas, dtype=bool)


def sample_damage(rng: np.random.Generator, size: int = 512, shape: str | None = None,
                  max_tries: int = 100) -> Damage:
    """One random lost region lying wholly inside a size x size image, 1 %-12 % of its area."""
    shape = shape or SHAPES[int(rng.integers(len(SHAPES)))]
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    for _ in range(max_tries):
        area_frac = rng.uniform(MIN_AREA, MAX_AREA)
        kind, pts = _shape_outline(shape, area_frac * size * size, size, rng)
        lo, hi = pts.min(0), pts.max(0)
        extent = hi - lo
        if np.any(extent > size - 2):
            continue
        offset = rng.uniform(0, size - 1 - extent) - lo  # keep the whole shape inside
        mask = _rasterize(kind, pts + offset, size)
        # a sharp star tip can rasterize as a detached pixel: the region must be one piece
        one_piece = ndimage.label(mask, structure=np.ones((3, 3)))[1] == 1
        if one_piece and MIN_AREA <= mask.mean() <= MAX_AREA:
            return Damage(shape, sample_fill(rng), mask)
    raise RuntimeError(f"could not place a {shape} of 1-12 % area in {max_tries} tries")


def apply_damage(gray: np.ndarray, damage: Damage) -> np.ndarray:
    """The competition's input: the grayscale image with the region set to one gray value."""
    out = gray.copy()
    out[damage.mask] = damage.fill
    return out
