"""The DACON score: known properties and agreement with an independent implementation."""
import numpy as np
import pytest
from PIL import Image

import reference_score as ref
from helpers.core.images import to_gray
from helpers.data.dacon import lost_region_mask
from helpers.scoring.metrics import (aggregate, histogram_similarity, masked_ssim_score, score_image,
                                     ssim_score)


@pytest.fixture(scope="module")
def example(small_dataset):
    inp = np.asarray(Image.open(small_dataset / "test_input/TEST_000.png"))
    gt = np.asarray(Image.open(small_dataset / "test_gt/TEST_000.png"))
    return inp, gt, lost_region_mask(inp, gt)


def predictions(gt: np.ndarray, inp: np.ndarray) -> dict:
    rng = np.random.default_rng(0)
    noisy = np.clip(gt.astype(int) + rng.integers(-30, 31, gt.shape), 0, 255).astype(np.uint8)
    return {
        "noisy": noisy,
        "hue_rotated": gt[..., [1, 2, 0]],
        "input_as_rgb": np.repeat(inp[..., None], 3, axis=2),
        "gray_of_truth": np.repeat(to_gray(gt)[..., None], 3, axis=2),
        "dark": (gt // 3).astype(np.uint8),
    }


def test_identical_images_score_exactly_one(example):
    _, gt, mask = example
    s = score_image(gt, gt.copy(), mask)
    assert (s.S, s.M, s.C, s.score) == (1.0, 1.0, 1.0, 1.0)


def test_gray_copy_of_truth_gets_almost_nothing_for_colour():
    from helpers import PHOTOS_DIR
    cs = []
    for path in sorted(PHOTOS_DIR.glob("*.jpg"))[::4]:
        truth = np.asarray(Image.open(path))
        gray = np.repeat(to_gray(truth)[..., None], 3, axis=2)
        cs.append(histogram_similarity(truth, gray))
        assert ssim_score(truth, gray) > 0.5, path.name  # the structure is all there
    # near 0 for typical photos; only mostly-neutral scenes (gray pavement) correlate with hue bin 0
    assert abs(np.median(cs)) < 0.1


def test_masked_ssim_uses_only_lost_pixels(example):
    _, gt, mask = example
    (y0, x0), (y1, x1) = np.argwhere(~mask)[:2]
    pred = gt.copy()
    pred[mask] = 128
    pred[y0, x0], pred[y1, x1] = 0, 255  # pin the prediction's data_range at 255
    base = masked_ssim_score(gt, pred, mask)
    outside = 255 - pred  # wreck everything outside the region ...
    outside[mask] = pred[mask]  # ... keep the region; the range stays 0..255
    assert masked_ssim_score(gt, outside, mask) == pytest.approx(base, abs=1e-12)
    assert ssim_score(gt, outside) < ssim_score(gt, pred)
    inside = pred.copy()
    inside[mask] = gt[mask]
    assert masked_ssim_score(gt, inside, mask) == pytest.approx(1.0)
    assert base < 0.9


def test_data_range_comes_from_the_prediction(example):
    _, gt, mask = example
    pred = (gt // 4 + 60).astype(np.uint8)  # narrow range: smaller constants, lower SSIM
    from skimage.metrics import structural_similarity
    assert ssim_score(gt, pred) == pytest.approx(
        structural_similarity(gt, pred, channel_axis=-1, data_range=float(pred.max() - pred.min())))
    assert ssim_score(gt, pred) != pytest.approx(
        structural_similarity(gt, pred, channel_axis=-1, data_range=255))


def test_agrees_with_independent_implementation(small_dataset):
    worst = 0.0
    for name in ["TEST_000.png", "TEST_003.png", "TEST_007.png"]:
        inp = np.asarray(Image.open(small_dataset / "test_input" / name))
        gt = np.asarray(Image.open(small_dataset / "test_gt" / name))
        for label, pred in predictions(gt, inp).items():
            ours = score_image(gt, pred, lost_region_mask(inp, gt)).as_dict()
            theirs = ref.score(gt, pred, inp)
            for k in ("S", "M", "C", "score"):
                assert ours[k] == pytest.approx(theirs[k], abs=1e-6), (name, label, k)
                worst = max(worst, abs(ours[k] - theirs[k]))
    print(f"largest difference from the independent implementation: {worst:.2e}")


def test_opencv_hue_and_pil_gray_match_their_definitions(example):
    import cv2
    _, gt, _ = example
    assert (cv2.cvtColor(gt, cv2.COLOR_RGB2HSV)[..., 0] == ref.opencv_hue(gt)).all()
    assert (to_gray(gt) == ref.gray(gt)).all()


def test_aggregate_is_the_weighted_mean(example):
    _, gt, mask = example
    a = score_image(gt, gt, mask)
    b = score_image(gt, (gt // 2).astype(np.uint8), mask)
    agg = aggregate([a, b])
    assert agg["n"] == 2
    assert agg["score"] == pytest.approx((a.score + b.score) / 2)
    assert agg["S"] == pytest.approx((a.S + b.S) / 2)


def test_bad_arguments_are_clear_errors(example):
    _, gt, mask = example
    with pytest.raises(ValueError, match="differ in size"):
        score_image(gt, gt[:256], mask)
    with pytest.raises(ValueError, match="uint8"):
        ssim_score(gt, gt.astype(np.float32))
    with pytest.raises(ValueError, match="at least 7"):
        masked_ssim_score(gt, gt, np.zeros(mask.shape, bool))
