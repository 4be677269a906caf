"""Real (tiny) training runs: checkpoints every N epochs, resuming, determinism, the pipeline file."""
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from helpers.pipeline.model_files import load_mask, load_pipeline
from helpers.pipeline.restore import Restorer
from helpers.training.checkpoints import epoch_files
from helpers.training.launch import train
from helpers.training.loop import ResumeError

from conftest import TINY_GAN, TINY_INPAINTER


def test_mask_run_writes_checkpoints_and_best(tiny_runs):
    folder = tiny_runs / "mask"
    assert [p.name for p in epoch_files(folder)] == ["epoch_0002.pt", "epoch_0001.pt"]
    best = load_mask(folder)
    assert best.provenance["mask"]["weights_note"].endswith("random weights") and best.mask.scale == 64 / 512
    config = json.loads((folder / "config.json").read_text())
    assert config["config"]["image_size"] == 64 and config["provenance"]["mask"]["encoder_name"] == "resnet18"
    hist = pd.read_csv(folder / "history.csv")
    assert list(hist.epoch) == [1, 2] and hist.iou.between(0, 1).all()


def test_gan_run_checkpoints_every_three_epochs_and_at_the_end(tiny_runs):
    folder = tiny_runs / "gan"
    assert [p.name for p in epoch_files(folder)] == ["epoch_0004.pt", "epoch_0003.pt"]
    state = torch.load(folder / "epoch_0004.pt", weights_only=True)
    assert set(state) >= {"config", "modules", "optimizers", "rng", "history", "best", "epoch"}
    assert state["config"]["output"] == "ycbcr" and set(state["modules"]) == {"G", "D"}
    hist = pd.read_csv(folder / "history.csv")
    assert list(hist.epoch) == [1, 2, 3, 4]
    assert {"S", "M", "C", "score", "loss_G_l1", "loss_D"} <= set(hist.columns)
    assert state["best"] == pytest.approx(hist.score.max())
    assert len(list((folder / "samples").glob("epoch_*.png"))) == 4
    assert list((folder / "tb").glob("events.out.tfevents.*"))
    pipeline = load_pipeline(folder)
    assert pipeline.epoch == int(hist.epoch[hist.score.idxmax()])
    assert set(pipeline.provenance) == {"generator", "mask", "inpainter"}


def test_rerun_resumes_and_extends(tiny_runs, split_dataset, capsys):
    shutil.copytree(tiny_runs / "gan", tiny_runs / "gan_more")
    run = train("gan", {**TINY_GAN, "run": "gan_more", "epochs": 5}, split_dataset, tiny_runs, progress=False)
    assert "resuming gan_more after epoch 4" in capsys.readouterr().out
    assert [h["epoch"] for h in run.history] == [1, 2, 3, 4, 5]
    again = train("gan", {**TINY_GAN, "run": "gan_more", "epochs": 5}, split_dataset, tiny_runs, progress=False)
    assert len(again.history) == 5  # finished: nothing retrained


def test_resuming_with_other_settings_is_refused(tiny_runs, split_dataset):
    with pytest.raises(ResumeError, match=r"output: 'ycbcr' -> 'rgb'"):
        train("gan", {**TINY_GAN, "output": "rgb"}, split_dataset, tiny_runs, progress=False)


def test_first_epoch_losses_are_reproducible(tiny_runs, split_dataset, tmp_path):
    """Two fresh runs with one seed agree on the first epoch's losses (CPU) to 1e-5."""
    history = []
    for name in ("a", "b"):
        shutil.copytree(tiny_runs / "mask", tmp_path / name / "mask")
        run = train("gan", {**TINY_GAN, "epochs": 1}, split_dataset, tmp_path / name, progress=False)
        history.append(run.history[0])
    for k in ("loss_G_l1", "loss_G_adv", "loss_D", "score"):
        assert history[0][k] == pytest.approx(history[1][k], abs=1e-5), k


def test_restorer_from_run_restores_any_size(tiny_runs):
    import numpy as np
    r = Restorer.load(tiny_runs / "gan")
    assert "resnet18" in r.describe()
    gray = np.random.default_rng(0).integers(0, 256, (200, 330)).astype(np.uint8)
    rgb, mask = r.restore(gray)
    assert rgb.shape == (200, 330, 3) and rgb.dtype == np.uint8 and mask.shape == (200, 330)


def test_training_killed_mid_epoch_resumes_to_the_same_end(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    cfg = {**TINY_GAN, "epochs": 3, "checkpoint_every": 1, "image_size": 128, "keep_checkpoints": 0}
    cmd = [sys.executable, "-m", "helpers.launch", "gan", "--config", json.dumps(cfg),
           "--data-dir", str(split_dataset), "--checkpoint-root", str(tmp_path), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "gan" / "epoch_0001.pt"
    deadline = time.time() + 300
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert first.exists(), "the run never wrote its first checkpoint"
    time.sleep(1.0)  # into epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "gan" / "epoch_0003.pt").exists()
    before = first.stat().st_mtime_ns
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert [p.name for p in epoch_files(tmp_path / "gan")] == ["epoch_0003.pt", "epoch_0002.pt", "epoch_0001.pt"]
    assert first.stat().st_mtime_ns == before  # nothing earlier rewritten
    assert list(pd.read_csv(tmp_path / "gan" / "history.csv").epoch) == [1, 2, 3]


def test_truncated_newest_checkpoint_is_skipped_and_training_resumes_before_it(tiny_runs, split_dataset):
    """A half-written or half-synced epoch file: a warning naming it, then resume from the one before."""
    shutil.copytree(tiny_runs / "gan", tiny_runs / "gan_cut")
    newest = tiny_runs / "gan_cut" / "epoch_0004.pt"
    newest.write_bytes(newest.read_bytes()[:4096])
    with pytest.warns(UserWarning, match=r"skipping .*epoch_0004\.pt: damaged checkpoint"):
        run = train("gan", {**TINY_GAN, "run": "gan_cut"}, split_dataset, tiny_runs, progress=False)
    assert run.start_epoch == 3 and [h["epoch"] for h in run.history] == [1, 2, 3, 4]
    assert torch.load(newest, weights_only=True)["epoch"] == 4  # rewritten whole


def test_ema_prefill_hue_run_keeps_the_averaged_generator_and_resumes(tiny_runs, split_dataset, capsys):
    cfg = {**TINY_GAN, "run": "gan_ema", "epochs": 2, "checkpoint_every": 1, "prefill": True,
           "hue_weight": 5.0, "ema": 0.9}
    run = train("gan", cfg, split_dataset, tiny_runs, progress=False)
    state = torch.load(tiny_runs / "gan_ema" / "epoch_0002.pt", weights_only=True)
    assert set(state["modules"]) == {"G", "D", "G_ema"}
    assert all(h["loss_G_hue"] > 0 for h in run.history)
    pipeline = load_pipeline(tiny_runs / "gan_ema")
    ema_weights = {k[len("module."):]: v for k, v in state["modules"]["G_ema"].items() if k.startswith("module.")}
    if pipeline.epoch == 2:
        assert all(torch.equal(pipeline.generator.state_dict[k], v) for k, v in ema_weights.items())
    assert pipeline.generator.prefill is True
    train("gan", {**cfg, "epochs": 3}, split_dataset, tiny_runs, progress=False)
    assert "resuming gan_ema after epoch 2" in capsys.readouterr().out


# nbval checks only what is the same on every machine; the numbers training produces
# are checked here. Another CPU runs other kernels (AVX2 / AVX-512 / AMX, oneDNN or
# not), which sum in other orders, so training takes slightly different float paths.
# This test makes those paths happen here: it retrains the tiny runs with PyTorch's
# generic kernels and compares them with the session's runs. Measured on this project's
# 2-core AVX-512 machine, generic vs native kernels over these 1-2 epochs: losses within
# 5e-4 (relative 1e-3), IoU / Dice within 0.008, S, M, C and score within 0.001. The
# bounds are 5-10x those, while a real change of the data, a loss or a metric moves the
# same numbers by more (a different seed alone moves the score by about 0.01).
GENERIC_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "DNNL_MAX_CPU_ISA": "SSE41"}


def test_training_numbers_hold_with_another_cpus_kernels(tiny_runs, split_dataset, tmp_path):
    import os
    script = (
        "import json, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from conftest import TINY_GAN, TINY_INPAINTER, TINY_MASK\n"
        "from helpers.training.launch import train\n"
        f"m = train('mask', TINY_MASK, {str(split_dataset)!r}, {str(tmp_path)!r}, progress=False)\n"
        f"train('inpainter', TINY_INPAINTER, {str(split_dataset)!r}, {str(tmp_path)!r}, progress=False)\n"
        f"g = train('gan', {{**TINY_GAN, 'inpainter_run': 'inpainter', 'epochs': 1}}, {str(split_dataset)!r}, "
        f"{str(tmp_path)!r}, progress=False)\n"
        "print(json.dumps({'mask': m.history, 'gan': g.history}))\n")
    from helpers import REPO_ROOT
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                         env={**os.environ, **GENERIC_KERNELS}, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    other = json.loads(res.stdout.strip().splitlines()[-1])
    mask = pd.read_csv(tiny_runs / "mask" / "history.csv")
    gan = pd.read_csv(tiny_runs / "gan" / "history.csv")
    for here, there in zip(mask.to_dict("records"), other["mask"]):
        assert there["loss"] == pytest.approx(here["loss"], rel=1e-2)
        for k in ("iou", "dice", "iou_coarse", "dice_coarse"):
            assert there[k] == pytest.approx(here[k], abs=0.05), k
    here, there = gan.to_dict("records")[0], other["gan"][0]
    for k in ("loss_G_l1", "loss_G_adv", "loss_D"):
        assert there[k] == pytest.approx(here[k], rel=2e-2), k
    for k in ("S", "M", "C", "score"):
        assert there[k] == pytest.approx(here[k], abs=0.01), k


def test_frozen_encoder_run_trains_the_decoder_and_the_first_convolution_only(tiny_runs, split_dataset):
    """freeze_encoder: the Lite0 encoder ends as the packaged ImageNet weights and statistics
    (but its first convolution, which sees the mask channel); the decoder learns."""
    from helpers.networks.models import build_unet
    cfg = {**TINY_GAN, "run": "gan_frozen", "epochs": 1, "encoder_name": "timm-tf_efficientnet_lite0",
           "encoder_weights": "efficientnet-lite0", "freeze_encoder": True, "adv_weight": 0.0, "steps_per_epoch": 3}
    train("gan", cfg, split_dataset, tiny_runs, progress=False)
    trained = torch.load(tiny_runs / "gan_frozen" / "epoch_0001.pt", weights_only=True)["modules"]["G"]
    start, _ = build_unet("timm-tf_efficientnet_lite0", 2, 3, "efficientnet-lite0")
    start = start.state_dict()
    moved = {k for k, v in start.items() if not torch.equal(trained[k], v)}
    assert {k for k in moved if k.startswith("encoder.")} == {"encoder.conv_stem.weight"}
    assert any(k.startswith("decoder.") for k in moved)


def test_a_run_starts_from_a_trained_generator_of_the_same_network_only(tiny_runs, split_dataset):
    """init_generator (fine-tuning a shipped model's generator): the run's generator starts as the
    given one and its provenance says so; a generator of another network, or whose channels mean
    something else, is refused, naming the file."""
    from helpers.core.config import GanConfig
    from helpers.networks.models import build_network
    from helpers.pipeline.model_files import dequantize
    from helpers.training.gan import start_from_generator
    source = tiny_runs / "gan" / "best.pt"
    cfg = GanConfig(**TINY_GAN)  # how tiny_runs' gan was trained
    G, arch = build_network("resnet18", 2, 3, None, "random")
    arch = start_from_generator(G, arch, source, cfg)
    wanted = dequantize(load_pipeline(source).generator.state_dict)
    assert all(torch.equal(v, wanted[k]) for k, v in G.state_dict().items())
    assert f"fine-tuned from the generator of {source}" in arch["weights_note"]
    other, other_arch = build_network("resnet18", 1, 3, None, "random")  # no mask channel
    with pytest.raises(ValueError, match=str(source)):
        start_from_generator(other, other_arch, source, cfg)
    with pytest.raises(ValueError, match="output"):  # 3 RGB channels are not 3 YCbCr ones
        start_from_generator(G, arch, source, dataclasses.replace(cfg, output="rgb"))

    cfg = {**TINY_GAN, "run": "gan_init", "epochs": 1, "steps_per_epoch": 1, "init_generator": str(source)}
    run = train("gan", cfg, split_dataset, tiny_runs, progress=False)
    note = load_pipeline(run.dir / "best.pt").provenance["generator"]["weights_note"]
    assert note.startswith(f"fine-tuned from the generator of {source}")


def test_an_inpainter_run_starts_from_a_trained_inpainter_of_the_same_network_only(tiny_runs, split_dataset):
    """init_inpainter (training v2's inpainter further): the run's network starts as the shipped
    pipeline's inpainter, exactly, and its provenance says so; another network is refused, naming
    the file; a run that starts from the tiny inpainter trains and records where it started."""
    from helpers.networks.models import build_network
    from helpers.pipeline import shipped
    from helpers.pipeline.model_files import dequantize, load_inpainter
    from helpers.training.inpainter import start_from_inpainter
    source = shipped.SHIPPED["v2"]
    net, arch = build_network("timm-tf_efficientnet_lite0", 2, 1, None, "random")
    arch = start_from_inpainter(net, arch, source)
    wanted = dequantize(load_pipeline(source).inpainter.state_dict)
    assert all(torch.equal(v.float(), wanted[k].float()) for k, v in net.state_dict().items())
    assert f"fine-tuned from the inpainter of {source}" in arch["weights_note"]
    other, other_arch = build_network("resnet18", 2, 1, None, "random")
    with pytest.raises(ValueError, match="its inpainter is"):
        start_from_inpainter(other, other_arch, source)

    tiny = tiny_runs / "inpainter" / "best.pt"
    cfg = {**TINY_INPAINTER, "run": "inpainter_init", "epochs": 1, "init_inpainter": str(tiny)}
    run = train("inpainter", cfg, split_dataset, tiny_runs, progress=False)
    note = load_inpainter(run.dir / "best.pt").provenance["inpainter"]["weights_note"]
    assert note.startswith(f"fine-tuned from the inpainter of {tiny}")


def test_photo_crops_run_trains_on_new_crops(tiny_runs, split_dataset, capsys):
    cfg = {**TINY_GAN, "run": "gan_crops", "epochs": 1, "photo_crops": 8}
    run = train("gan", cfg, split_dataset, tiny_runs, progress=False)
    assert "training on 8 new crops an epoch" in capsys.readouterr().out
    assert len(run.history) == 1 and 0 < run.history[0]["score"] < 1
