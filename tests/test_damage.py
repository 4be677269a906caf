"""Lost regions match what the competition's data shows."""
import numpy as np
import pytest
from scipy import ndimage

from helpers.data.damage import MAX_AREA, MIN_AREA, SHAPES, apply_damage, sample_damage, sample_fill


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_is_one_solid_region_of_1_to_12_percent(shape):
    rng = np.random.default_rng(7)
    for _ in range(40):
        d = sample_damage(rng, 512, shape)
        assert d.shape == shape
        assert MIN_AREA <= d.area_frac <= MAX_AREA
        _, n = ndimage.label(d.mask, structure=np.ones((3, 3)))
        assert n == 1, f"{shape}: {n} separate regions"
        # solid: no holes inside the region
        assert (ndimage.binary_fill_holes(d.mask) == d.mask).all()
        assert 0 <= d.fill <= 100


def test_bars_are_thin_and_axis_aligned():
    rng = np.random.default_rng(3)
    for _ in range(30):
        m = sample_damage(rng, 512, "bar").mask
        ys, xs = np.nonzero(m)
        h, w = np.ptp(ys) + 1, np.ptp(xs) + 1
        assert max(h, w) / min(h, w) >= 3
        assert m.sum() == h * w  # a filled axis-aligned rectangle


def test_stars_are_concave():
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = sample_damage(rng, 512, "star").mask
        from skimage.morphology import convex_hull_image
        assert convex_hull_image(m).sum() > 1.2 * m.sum()


def test_fill_values_are_weighted_towards_dark():
    rng = np.random.default_rng(0)
    fills = np.array([sample_fill(rng) for _ in range(4000)])
    assert fills.min() >= 0 and fills.max() <= 100
    assert np.median(fills) < 35
    assert (fills < 20).mean() > (fills >= 80).mean() * 3
    assert (fills >= 70).any()  # but not always dark (the real data shows 73, 80, 86)


def test_apply_damage_changes_only_the_region():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (512, 512), dtype=np.uint8)
    d = sample_damage(rng, 512)
    out = apply_damage(gray, d)
    assert (out[~d.mask] == gray[~d.mask]).all()
    assert (out[d.mask] == d.fill).all()
