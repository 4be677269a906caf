"""Colour recipes keep what is known; mask snapping and IoU; the network input sizes."""
import numpy as np
import pytest
import torch

from helpers.core.images import to_gray
from helpers.networks.tensors import work_shape
from helpers.pipeline.colour import compose, decode, rgb_to_ycbcr, ycbcr_to_rgb
from helpers.pipeline.masking import iou_dice, snap_to_fill


def test_ycbcr_round_trip_and_luma_is_pil_gray():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (1, 3, 32, 32), dtype=np.uint8)
    t = torch.from_numpy(rgb).float() / 255
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(t)), t, atol=1e-5)
    y = (rgb_to_ycbcr(t)[0, 0] * 255).round().byte().numpy()
    pil = to_gray(rgb[0].transpose(1, 2, 0))
    assert np.abs(y.astype(int) - pil).max() <= 1


def test_ycbcr_output_keeps_the_input_luma_outside_the_mask():
    gray = 0.3 + 0.4 * torch.rand(2, 1, 16, 16)  # mid-grays: no RGB channel clips (clipping moves Y)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:8, 4:8] = 1
    raw = torch.randn(2, 3, 16, 16) * 0.1  # modest chroma
    out = compose(decode(raw, "ycbcr"), gray, mask, "ycbcr")
    y = rgb_to_ycbcr(out)[:, :1]
    outside = mask == 0
    assert torch.allclose(y[outside], gray[outside], atol=1e-4)
    assert not torch.allclose(y[~outside], gray[~outside], atol=1e-2)  # inside: the generator's Y
    assert torch.equal(compose(decode(raw, "rgb"), gray, mask, "rgb"), torch.sigmoid(raw))
    with pytest.raises(ValueError, match="output must be"):
        compose(raw, gray, mask, "lab")


def flat_fill_image(fill=7):
    rng = np.random.default_rng(1)
    gray = rng.integers(30, 256, (128, 128)).astype(np.uint8)  # never equal to the fill
    true = np.zeros_like(gray, bool)
    true[40:80, 30:90] = True
    gray[true] = fill
    return gray, true


def test_snap_moves_a_rough_edge_onto_the_fill():
    gray, true = flat_fill_image()
    rough = np.zeros_like(true)
    rough[43:84, 27:86] = True  # off by a few pixels on every side
    assert iou_dice(rough, true)[0] < 0.9
    snapped = snap_to_fill(gray, rough, radius=6)
    assert np.array_equal(snapped, true)


def test_snap_ignores_far_away_pixels_of_the_fill_value():
    gray, true = flat_fill_image()
    gray[0:10, 0:10] = 7  # same value, far from the region
    snapped = snap_to_fill(gray, true.copy(), radius=6)
    assert np.array_equal(snapped, true)


def test_snap_leaves_a_region_that_is_not_a_flat_fill():
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    coarse = np.zeros_like(gray, bool)
    coarse[10:30, 10:30] = True
    assert np.array_equal(snap_to_fill(gray, coarse, radius=4), coarse)
    empty = np.zeros_like(coarse)
    assert not snap_to_fill(gray, empty, radius=4).any()


def test_iou_dice():
    a = np.zeros((10, 10), bool)
    b = a.copy()
    a[:, :5], b[:, 2:7] = True, True
    iou, dice = iou_dice(a, b)
    assert iou == pytest.approx(30 / 70) and dice == pytest.approx(60 / 100)
    assert iou_dice(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == (1.0, 1.0)


def test_work_shape_scales_and_rounds_to_32():
    assert work_shape(512, 512, 0.5) == (256, 256)
    assert work_shape(512, 512, 0.25) == (128, 128)
    assert work_shape(600, 1000, 0.5) == (288, 512)
    assert work_shape(20, 20, 0.5) == (32, 32)
