"""The soft hue histogram behind the colour objective agrees with the score's own C."""
import numpy as np
import torch

from helpers.scoring.metrics import histogram_similarity
from helpers.training.losses import correlation, hue_correlation_loss, opencv_hue, soft_hue_histogram


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255


def test_hue_matches_opencv_on_every_hexcone_sector():
    import cv2
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    hue, chroma = opencv_hue(as_tensor(rgb))
    cv_hue = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 0].astype(np.float32)
    coloured = chroma[0].numpy() > 0
    diff = np.abs(hue[0].numpy() - cv_hue)[coloured]
    assert np.minimum(diff, 180 - diff).max() < 1.0  # OpenCV's 8-bit hue is rounded fixed-point


def test_unblurred_soft_correlation_tracks_the_score_colour_part(small_dataset):
    from helpers.core.images import read_rgb
    gts = [read_rgb(p) for p in sorted((small_dataset / "test_gt").glob("*.png"))[:4]]
    for a, b in zip(gts, gts[1:]):
        ours = correlation(soft_hue_histogram(as_tensor(a), sigma=0), soft_hue_histogram(as_tensor(b), sigma=0))
        assert abs(ours.item() - histogram_similarity(b, a)) < 0.1


def test_gray_answers_lose_and_the_loss_pulls_a_hue_towards_the_truth():
    truth = torch.zeros(1, 3, 32, 32)
    truth[:, 0], truth[:, 1], truth[:, 2] = 0.8, 0.5, 0.2  # orange, OpenCV hue 15
    gray = torch.full_like(truth, 0.5)
    tinted = torch.tensor([0.52, 0.5, 0.48]).view(1, 3, 1, 1).expand_as(truth)  # faint orange, hue 15
    assert hue_correlation_loss(tinted, truth) < 0.05 < 0.9 < hue_correlation_loss(gray, truth)
    yellower = torch.tensor([0.51, 0.504, 0.49]).view(1, 3, 1, 1).expand_as(truth).clone().requires_grad_()
    hue_correlation_loss(yellower, truth).backward()  # hue 21: lowering green moves it to 15
    assert yellower.grad[:, 1].mean() > 0
