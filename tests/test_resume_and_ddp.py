"""Resuming keeps what the killed run had (the GradScaler's scale, a better best.pt), DDP ranks
wait out a long validation, torchrun's output reaches a notebook unchanged, and a torch too
old for the code is named at once."""
import datetime
import re
import shutil
import tomllib

import pytest
import torch
import torch.distributed as dist

from helpers import REPO_ROOT
from helpers.core import runs, runtime
from helpers.core.config import MaskConfig, make
from helpers.networks import devices, torch_files
from helpers.training import checkpoints as ckpt, launch
from helpers.training.loop import Run, fit
from helpers.training.mask import MaskStage

from conftest import TINY_MASK

# the smallest run that trains: 32 px, 4 steps an epoch, 2 validation images
FP16_MASK = {**TINY_MASK, "image_size": 32, "val_limit": 2, "epochs": 1, "amp": "fp16"}


def train_mask(settings: dict, data, root) -> MaskStage:
    """Train (or resume) a tiny mask run in this process; the stage, to look at its scaler."""
    stage = MaskStage(make(MaskConfig, settings), data, root, progress=False)
    fit(stage, root)
    return stage


@pytest.fixture(scope="module")
def fp16_epoch(split_dataset, tmp_path_factory):
    """A mask run after one float16 epoch (CPU autocast with a GradScaler), copied by each test."""
    root = tmp_path_factory.mktemp("fp16")
    train_mask(FP16_MASK, split_dataset, root)
    return root / "mask"


def edit_checkpoint(path, change) -> None:
    state = ckpt.load(path)
    change(state)
    torch_files.save(state, path)


def test_resume_continues_the_grad_scalers_scale(fp16_epoch, split_dataset, tmp_path, capsys):
    shutil.copytree(fp16_epoch, tmp_path / "mask")
    first = tmp_path / "mask" / "epoch_0001.pt"
    assert ckpt.load(first)["scaler"]["scale"] > 0  # saved, as plain numbers (weights_only loads it)
    edit_checkpoint(first, lambda s: s["scaler"].update(scale=1024.0))
    stage = train_mask({**FP16_MASK, "epochs": 2}, split_dataset, tmp_path)
    # A fresh scaler starts at 65536 and can only halve in 4 steps (it grows after 2000):
    # at most 1024 means it continued from the checkpoint.
    assert stage.precision.scaler.get_scale() <= 1024.0
    assert ckpt.load(tmp_path / "mask" / "epoch_0002.pt")["scaler"]["scale"] == stage.precision.scaler.get_scale()
    capsys.readouterr()

    # a checkpoint from before the scaler was saved (no entry at all) still resumes, and says
    # once why the scale starts again (a resume that changes amp: the next test)
    edit_checkpoint(tmp_path / "mask" / "epoch_0002.pt", lambda s: s.pop("scaler"))
    stage = train_mask({**FP16_MASK, "epochs": 3}, split_dataset, tmp_path)
    out = capsys.readouterr().out
    assert "resuming mask after epoch 2" in out and out.count("holds no GradScaler state") == 1
    assert ckpt.load(tmp_path / "mask" / "epoch_0003.pt")["scaler"]["scale"] == stage.precision.scaler.get_scale()


def test_resume_never_replaces_a_better_best_pt(fp16_epoch, split_dataset, tmp_path, capsys):
    """best.pt written after the last checkpoint (then a kill): a resumed epoch that scores lower
    than best.pt, though higher than the checkpoint's best, must not replace it. The resume
    also switches float16 off (amp may change): the saved GradScaler state goes unused."""
    shutil.copytree(fp16_epoch, tmp_path / "mask")
    folder = tmp_path / "mask"
    edit_checkpoint(folder / "epoch_0001.pt", lambda s: s.update(best=-1.0))  # any epoch beats the checkpoint
    best = torch_files.load_file(folder / "best.pt")
    best["metrics"]["iou"], best["epoch"] = 2.0, 7  # an IoU no epoch can reach
    torch_files.save(best, folder / "best.pt")
    train_mask({**FP16_MASK, "epochs": 2, "amp": "off"}, split_dataset, tmp_path)
    kept = torch_files.load_file(folder / "best.pt")
    assert kept["epoch"] == 7 and kept["metrics"]["iou"] == 2.0
    assert [h["epoch"] for h in ckpt.load(folder / "epoch_0002.pt")["history"]] == [1, 2]  # it did train
    out = capsys.readouterr().out
    assert "best.pt (iou 2.0000) is better than the checkpoint's best" in out
    assert out.count("GradScaler state is not used") == 1
    assert ckpt.load(folder / "epoch_0002.pt")["scaler"] == {}


def test_an_unreadable_best_pt_falls_back_to_the_checkpoints_best(tmp_path):
    ckpt.save_epoch({"config": {"run": "r"}, "history": [{"epoch": 1}], "best": 0.5, "rng": ckpt.rng_state(),
                     "modules": {}, "optimizers": {}}, runs.run_dir("r", tmp_path), 1)
    cfg = make(MaskConfig, {"run": "r", "epochs": 3, "num_workers": 0})
    (tmp_path / "r" / "best.pt").write_bytes(b"half a file")
    with Run(cfg, tmp_path, "mask") as run, pytest.warns(UserWarning, match=r"best\.pt.*iou cannot be read"):
        assert run.restore({}, {}, None, "iou") == 1
    assert run.best == 0.5
    torch_files.save({"kind": "mask_model", "metrics": {"iou": 0.25}}, tmp_path / "r" / "best.pt")
    with Run(cfg, tmp_path, "mask") as run:  # a worse best.pt: the checkpoint's value stands
        run.restore({}, {}, None, "iou")
    assert run.best == 0.5


def test_ddp_ranks_wait_hours_not_nccls_ten_minutes(monkeypatch):
    seen = []
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **kw: seen.append((backend, kw)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("DDP_TIMEOUT_MIN", raising=False)
    devices.init_distributed(devices.Distributed(0, 2, 0))
    assert seen == [("gloo", {"timeout": datetime.timedelta(hours=2)})]
    monkeypatch.setenv("DDP_TIMEOUT_MIN", "300")
    devices.init_distributed(devices.Distributed(1, 2, 1))
    assert seen[-1][1]["timeout"] == datetime.timedelta(minutes=300)
    for bad in ("0", "-5", "two hours"):
        monkeypatch.setenv("DDP_TIMEOUT_MIN", bad)
        with pytest.raises(ValueError, match="DDP_TIMEOUT_MIN must be a positive number of minutes"):
            devices.init_distributed(devices.Distributed(0, 2, 0))


def test_check_torch_names_the_installed_and_the_required_version():
    runtime.check_torch()  # the installed one is new enough
    for ok in ("2.5.0", "2.5.1+cu121", "2.10.0a0+git1234", "3.0.0"):
        runtime.check_torch(ok)
    for old in ("2.4.1+cu121", "2.1.0", "1.13.1", "nonsense"):
        with pytest.raises(RuntimeError, match=re.escape(f"torch {old} is installed, but this project needs "
                                                         "torch >= 2.5")):
            runtime.check_torch(old)


def test_pyproject_torch_floor_is_the_one_the_code_checks():
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floor = next(d for d in deps if re.match(r"torch\s*>=", d)).split(">=")[1].strip()
    assert tuple(map(int, floor.split("."))) == runtime.MIN_TORCH
    assert "torchvision>=0.20" in deps  # torchvision 0.20 is the release built for torch 2.5


class Chunks:
    """A pipe that hands out the given chunks, as read1 does."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)

    def read1(self, n):
        return self.chunks.pop(0) if self.chunks else b""


def test_relay_passes_output_on_unchanged(capsys):
    launch.relay(Chunks(b"bar  10%\rbar  50%\r", b"bar 100%\n\xe2\x96", b"\x88 done\r\n", b"\xff"))
    assert capsys.readouterr().out == "bar  10%\rbar  50%\rbar 100%\n\u2588 done\r\n\ufffd"


def test_torchrun_progress_bars_redraw_in_place(split_dataset, tmp_path, capsys):
    """2 processes (gloo) through launch.train, as a notebook cell runs it: tqdm's redraws arrive
    with their carriage returns, not as lines of their own."""
    cfg = {**TINY_MASK, "image_size": 32, "val_limit": 3, "epochs": 1, "batch_size": 2, "processes": 2}
    done = launch.train("mask", cfg, split_dataset, tmp_path, progress=True)
    assert [h["epoch"] for h in done.history] == [1]
    out = capsys.readouterr().out
    # 4 steps per rank at batch 2, then 3 validation images: tqdm draws each bar at its start,
    # after steps and at its end. Before, text mode turned every "\r" into a line of its own.
    assert out.count("\r") >= 4
    bar_lines = [line for line in out.split("\n") if "mask epoch 1/1:" in line]
    assert 1 <= len(bar_lines) <= 2 and bar_lines[0].count("\r") >= 2  # the redraws share a line
    # The lines are the run's own messages: launch (1), torchrun's OMP_NUM_THREADS banner (4),
    # each rank's start messages and warnings (4 each here), the device line, then per epoch
    # the closed bar, validation, summary and checkpoint: about 20 however many redraws; 40
    # leaves room for a new warning, and a long real run's bars still cost no lines.
    assert out.count("\n") <= 40, out


def test_a_run_resumed_on_other_data_is_refused_naming_both(fp16_epoch, split_dataset, tmp_path):
    """The same run name after the user swaps the data (the sample, then DACON's): refused, not
    'resumed' with nothing trained on the new data; a new split of the same data is refused too."""
    from helpers.data.synthetic import build
    from helpers.data.splits import write_split
    from helpers.training.loop import ResumeError
    shutil.copytree(fp16_epoch, tmp_path / "runs" / "mask")
    saved = ckpt.load(tmp_path / "runs" / "mask" / "epoch_0001.pt")["data"]
    assert saved["dir"] == str(split_dataset) and len(saved["fingerprint"]) == 12
    other = build(tmp_path / "other", n_train=24, n_test=8, seed=7, progress=False)  # same names, other images
    write_split(other, val_frac=0.25, seed=0)
    with pytest.raises(ResumeError, match="other settings|cannot go on") as e:
        train_mask({**FP16_MASK, "epochs": 2}, other, tmp_path / "runs")
    assert str(split_dataset) in str(e.value) and str(other) in str(e.value)
    resplit = shutil.copytree(split_dataset, tmp_path / "resplit")
    write_split(resplit, val_frac=0.5, seed=1)
    with pytest.raises(ResumeError, match="split has changed"):
        train_mask({**FP16_MASK, "epochs": 2}, resplit, tmp_path / "runs")
    assert not (tmp_path / "runs" / "mask" / "epoch_0002.pt").exists()


def test_a_damaged_file_is_not_called_crafted_and_resume_falls_back(fp16_epoch, split_dataset, tmp_path, capsys):
    """Random bytes or Drive's HTML warning page saved as the newest checkpoint are damaged files,
    not code-execution attempts: the resume takes the intact checkpoint before them (it stopped
    with a traceback). A byte flipped inside a checkpoint fails its checksum instead of loading."""
    folder = tmp_path / "mask"
    shutil.copytree(fp16_epoch, folder)
    good = torch_files.load_file(folder / "epoch_0001.pt")
    flipped = bytearray((folder / "epoch_0001.pt").read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    (tmp_path / "flipped.pt").write_bytes(flipped)
    with pytest.raises(ValueError, match=r"flipped\.pt: damaged checkpoint: its part '.+' fails its CRC-32 checksum"):
        ckpt.load(tmp_path / "flipped.pt")
    (folder / "epoch_0002.pt").write_bytes(bytes(range(256)) * 40)
    (folder / "epoch_0003.pt").write_text("<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning")
    with pytest.raises(ValueError, match="an HTML page, such as Google Drive's virus-scan warning") as e:
        ckpt.load(folder / "epoch_0003.pt")
    assert not isinstance(e.value, torch_files.UnsafeFileError) and "crafted" not in str(e.value)
    with pytest.warns(UserWarning, match=r"skipping .*epoch_0003\.pt: not a checkpoint"):
        latest = ckpt.load_latest(folder)
    assert latest["path"].endswith("epoch_0001.pt") and latest["epoch"] == good["epoch"]
    with pytest.warns(UserWarning):
        train_mask({**FP16_MASK, "epochs": 2}, split_dataset, tmp_path)  # resumes after epoch 1
    assert "resuming mask after epoch 1 from epoch_0001.pt" in capsys.readouterr().out


def test_a_finished_run_with_a_truncated_best_pt_gets_it_rebuilt(fp16_epoch, split_dataset, tmp_path, capsys):
    """best.pt cut short in a finished run was left broken (the warning spoke of a resumed epoch
    that never came): it is set aside as best.pt.damaged and rebuilt from the checkpoint."""
    folder = tmp_path / "mask"
    shutil.copytree(fp16_epoch, folder)
    whole = (folder / "best.pt").read_bytes()
    (folder / "best.pt").write_bytes(whole[: len(whole) // 2])
    with pytest.warns(UserWarning, match=r"best\.pt: its iou cannot be read .* rebuilt from the newest checkpoint"):
        train_mask(FP16_MASK, split_dataset, tmp_path)  # nothing left to train
    assert (folder / "best.pt.damaged").read_bytes() == whole[: len(whole) // 2]
    rebuilt = torch_files.load_file(folder / "best.pt")
    assert rebuilt["epoch"] == 1 and rebuilt["metrics"]["iou"] == torch_files.load_file(
        folder / "epoch_0001.pt")["history"][-1]["iou"]
    assert "kept as best.pt.damaged, and best.pt rebuilt from the checkpoint of epoch 1" in capsys.readouterr().out
