"""The quality stages: the learned inpainter, chroma classification, the hue error."""
import shutil

import numpy as np
import pytest
import torch

from helpers.pipeline import chroma_bins
from helpers.pipeline.colour import decode, out_channels
from helpers.pipeline.inpaint import learned_fill, telea
from helpers.pipeline.model_files import load_inpainter, load_pipeline
from helpers.pipeline.restore import Restorer
from helpers.scoring.metrics import hue_error_summary, hue_errors
from helpers.training import gan as gan_training
from helpers.training.datasets import InpaintingCrops
from helpers.training.launch import train
from helpers.training.losses import masked_ssim, region_loss

from conftest import TINY_GAN


# --- chroma bins ------------------------------------------------------------------------------

def test_chroma_bins_encode_and_decode():
    chroma = torch.rand(2, 2, 6, 6) * 0.3 + 0.35
    target = chroma_bins.soft_targets(chroma)
    assert target.shape == (2, chroma_bins.Q, 6, 6) and torch.allclose(target.sum(1), torch.ones(2, 6, 6))
    # a distribution peaked on the truth's bins decodes back near the truth (bins are 1/16 wide)
    decoded = chroma_bins.annealed_mean(torch.log(target + 1e-9), temperature=1.0)
    assert (decoded - chroma).abs().max() < 1 / 32
    freq = chroma_bins.bin_frequencies([chroma])
    w = chroma_bins.rebalancing_weights(freq)
    assert torch.isclose((freq * w).sum(), torch.tensor(1.0)) and w.min() > 0
    good = chroma_bins.classification_loss(torch.log(target + 1e-9) * 10, chroma, w)
    bad = chroma_bins.classification_loss(torch.zeros_like(target), chroma, w)
    assert good < bad


def test_a_new_bins_generator_answers_gray():
    G = torch.nn.Module()
    from helpers.networks.models import build_unet
    G, _ = build_unet("resnet18", 2, out_channels("ycbcr", "bins"), None)
    gan_training.start_from_gray(G, "bins")
    with torch.no_grad():
        decoded = decode(G(torch.rand(1, 2, 64, 64)), "ycbcr", "bins")
    assert (decoded[:, 1:] - 0.5).abs().max() < 0.01  # gray chroma
    assert decoded[:, :1].abs().max() == 0  # no luminance correction


def test_hue_errors_measure_degrees_on_coloured_pixels():
    truth = np.zeros((4, 4, 3), np.uint8)
    truth[..., 0] = 200  # red, saturated
    truth[0] = 128  # a gray row: not counted
    pred = truth.copy()
    pred[1:, :, 1] = 200  # red + green = yellow: 60 degrees away
    errors = hue_errors(truth, pred)
    assert errors.size == 12 and set(errors.tolist()) == {60}
    summary = hue_error_summary(np.bincount(errors, minlength=181))
    assert summary == {"hue_err": 60.0, "hue_within_20": 0.0}


# --- the learned inpainter -------------------------------------------------------------------------

def test_inpainting_crops_are_drawn_on_the_fly_and_reproducible(small_dataset):
    truths = sorted(str(p) for p in (small_dataset / "train_gt").glob("*.png"))
    ds = InpaintingCrops(truths, [], crop=96, samples=4, seed=0)
    a = ds[1]
    assert a["input"].shape == a["mask"].shape == a["target"].shape == (1, 96, 96)
    assert a["input"].dtype == torch.uint8 and a["flip"].dtype == torch.bool
    assert 0 < a["mask"].float().mean() <= 255 and torch.equal(ds[1]["input"], a["input"])
    assert not torch.equal(ds[1 + len(ds)]["target"], a["target"])  # item 1 of epoch 1: new crops
    inside = a["mask"] > 0
    assert torch.equal(a["input"][~inside], a["target"][~inside])  # only the region differs


def test_ssim_loss_is_one_for_a_perfect_fill_and_lower_otherwise():
    target = torch.rand(2, 1, 32, 32)
    mask = torch.zeros_like(target)
    mask[:, :, 8:24, 8:24] = 1
    assert masked_ssim(target, target, mask) == pytest.approx(1.0, abs=1e-5)
    losses = region_loss(target.flip(-1), target, mask, 1.0)
    assert losses["ssim"] < 0.9 and losses["total"] > losses["l1"]


class ZeroCorrection(torch.nn.Module):
    """An inpainter whose correction is zero everywhere: it must give back Telea's fill."""

    def forward(self, x):
        assert x.shape[1] == 2 and x.shape[-1] % 32 == 0 and x.shape[-2] % 32 == 0
        return torch.zeros_like(x[:, :1])


def test_learned_fill_changes_only_the_region_and_starts_as_telea():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (300, 410)).astype(np.uint8)
    mask = np.zeros(gray.shape, bool)
    mask[100:160, 200:290] = True
    gray[mask] = 12
    filled = learned_fill(ZeroCorrection(), gray, mask)
    assert np.array_equal(filled[~mask], gray[~mask])
    assert np.abs(filled.astype(int) - telea(gray, mask)).max() <= 1
    assert np.array_equal(learned_fill(ZeroCorrection(), gray, np.zeros_like(mask)), gray)


def test_inpainter_run_and_the_pipeline_that_carries_it(tiny_runs, small_dataset):
    best = load_inpainter(tiny_runs / "inpainter")
    assert best.inpainter.scale == 1.0 and {"M", "M_telea", "val_l1"} <= set(best.metrics)
    pipeline = load_pipeline(tiny_runs / "gan")
    assert pipeline.inpainter is not None and "inpainter" in pipeline.provenance
    r = Restorer.load(tiny_runs / "gan")
    assert "learned inpainter" in r.describe()
    from helpers.core.images import read_gray
    gray = read_gray(sorted((small_dataset / "test_input").glob("*.png"))[0])
    rgb, mask = r.restore(gray)
    assert rgb.shape == (512, 512, 3)


def test_a_bins_gan_run_trains_and_restores(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    run = train("gan", {**TINY_GAN, "epochs": 1, "chroma": "bins", "prefill": True}, split_dataset, tmp_path,
                             progress=False)
    assert run.history[0]["loss_G_ce"] > 0
    r = Restorer.load(tmp_path / "gan")
    assert r.gen_spec.chroma == "bins" and "chroma bins" in r.describe()
    rgb, _ = r.restore(np.full((96, 128), 90, np.uint8))
    assert rgb.shape == (96, 128, 3)
    with pytest.raises(ValueError, match="chroma"):
        train("gan", {**TINY_GAN, "run": "x", "chroma": "bins", "output": "rgb"}, split_dataset, tmp_path,
                           progress=False)
