"""The real user's run, on the CPU: DDP with 2 processes (gloo), autocast, one loader, checkpoint
retention, where Colab and Kaggle keep things (the whole series there: test_platforms.py)."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pandas as pd
import pytest
import torch

from helpers import REPO_ROOT
from helpers.core import runtime
from helpers.networks.devices import Precision, auto_amp, loader_workers
from helpers.pipeline.model_files import load_pipeline
from helpers.training.checkpoints import epoch_files
from helpers.training.launch import train
from helpers.training.loop import EpochSampler

from conftest import TINY_GAN


def test_epoch_sampler_keeps_the_old_order_and_splits_it_between_ranks():
    from helpers.networks.devices import Distributed
    one = list(EpochSampler(10, seed=3).__iter__())
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(3 * 100_003)).tolist()
    assert one == expected  # epoch 0: the order the per-epoch loaders used to give
    s = EpochSampler(10, seed=3)
    s.set_epoch(2)
    assert sorted(i % 10 for i in s) == list(range(10)) and min(s) >= 20  # epoch encoded in the index
    shares = [list(EpochSampler(10, 3, Distributed(r, 4, r))) for r in range(4)]
    assert [len(x) for x in shares] == [3, 3, 3, 3] and sorted(set(sum(shares, []))) == list(range(10))


def test_a_bounded_epoch_takes_the_first_items_of_each_epochs_order():
    from helpers.networks.devices import Distributed
    full, short = EpochSampler(10, seed=3), EpochSampler(10, seed=3, limit=4)
    for epoch in (0, 1):
        full.set_epoch(epoch)
        short.set_epoch(epoch)
        assert len(short) == 4 and list(short) == list(full)[:4]
    shares = [list(EpochSampler(10, 3, Distributed(r, 2, r), limit=4)) for r in range(2)]
    assert [len(x) for x in shares] == [4, 4] and not set(shares[0]) & set(shares[1])
    assert len(EpochSampler(10, 3, limit=50)) == 10  # a limit beyond the data: a whole pass


def test_worker_count_follows_the_cpu_count():
    assert loader_workers(3) == 3
    assert loader_workers(-1) == max(0, min(8, (os.cpu_count() or 1) - 1))


def test_autocast_on_the_cpu_trains_in_bfloat16(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    run = train("gan", {**TINY_GAN, "epochs": 1, "amp": "bf16", "chroma": "bins", "prefill": True},
                             split_dataset, tmp_path, progress=False)
    record = json.loads((run.dir / "config.json").read_text())
    assert record["runtime"]["precision"] == "bfloat16 autocast on cpu"
    assert all(torch.isfinite(torch.tensor(v)) for k, v in run.history[0].items() if k.startswith("loss_"))
    assert Precision("auto", torch.device("cpu")).setting == "off"  # the CPU default stays float32
    with pytest.raises(ValueError, match="amp must be"):
        Precision("fp8", torch.device("cpu"))


@pytest.mark.parametrize("capability, expected", [((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"),
                                                  ((9, 0), "bf16")])
def test_auto_precision_is_fp16_on_a_t4_and_bf16_from_an_a100_on(monkeypatch, capability, expected):
    # A T4 (7.5) only emulates bfloat16 (slower than float32), although
    # torch.cuda.is_bf16_supported() says yes there: the capability decides.
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda dev=None: capability)
    assert auto_amp(torch.device("cuda", 0)) == expected
    assert auto_amp(torch.device("cpu")) == "off"


def test_float16_autocast_updates_through_the_grad_scaler():
    # The T4 path (float16 + GradScaler) on the CPU. The scaler starts at 2**16, so the first
    # float16 gradients may overflow: it then skips those steps and halves its scale, and
    # the weights must still move, finite, within a few steps.
    p = Precision("fp16", torch.device("cpu"))
    assert p.scaler is not None and p.describe() == "float16 autocast with a GradScaler on cpu"
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    before = net.weight.detach().clone()
    for _ in range(20):
        with p.autocast():
            y = net(torch.randn(8, 4))
        assert y.dtype == torch.float16
        p.backward(y.float().pow(2).mean(), opt)
        p.update()
    assert torch.isfinite(net.weight).all() and (net.weight - before).abs().max() > 1e-4
    assert p.scaler.get_scale() <= 2.0 ** 16


def test_only_the_newest_checkpoints_are_kept(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    train("gan", {**TINY_GAN, "epochs": 4, "checkpoint_every": 1, "keep_checkpoints": 2}, split_dataset,
                       tmp_path, progress=False)
    assert [p.name for p in epoch_files(tmp_path / "gan")] == ["epoch_0004.pt", "epoch_0003.pt"]
    assert (tmp_path / "gan" / "best.pt").is_file()
    (tmp_path / "gan" / "epoch_0001.pt.mine").write_text("not ours")  # only epoch_XXXX.pt files are pruned
    train("gan", {**TINY_GAN, "epochs": 5, "checkpoint_every": 1, "keep_checkpoints": 2}, split_dataset,
                       tmp_path, progress=False)
    assert [p.name for p in epoch_files(tmp_path / "gan")] == ["epoch_0005.pt", "epoch_0004.pt"]
    assert (tmp_path / "gan" / "epoch_0001.pt.mine").exists()


def test_ddp_with_two_processes_writes_one_run_and_resumes(tiny_runs, split_dataset, tmp_path):
    """torchrun --nproc_per_node 2 on the CPU (gloo): one run folder, written by the main process."""
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    cfg = {**TINY_GAN, "epochs": 2, "checkpoint_every": 1, "processes": 2, "num_workers": 0}
    cmd = [sys.executable, "-m", "helpers.launch", "gan", "--config", json.dumps(cfg), "--data-dir",
           str(split_dataset), "--checkpoint-root", str(tmp_path), "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "launching 2 training processes" in res.stdout
    folder = tmp_path / "gan"
    assert [p.name for p in epoch_files(folder)] == ["epoch_0002.pt", "epoch_0001.pt"]
    assert list(pd.read_csv(folder / "history.csv").epoch) == [1, 2]  # written once, not once per rank
    assert json.loads((folder / "config.json").read_text())["runtime"]["processes"] == 2
    assert load_pipeline(folder).epoch in (1, 2) and not (folder / "run.lock").exists()
    # TensorBoard names each writer's file by host and pid: one file, so one writing process
    assert len(list((folder / "tb").rglob("events.out.tfevents.*"))) == 1
    cmd[cmd.index("--config") + 1] = json.dumps({**cfg, "epochs": 3})
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "resuming gan after epoch 2" in res.stdout
    assert list(pd.read_csv(folder / "history.csv").epoch) == [1, 2, 3]


def test_colab_stages_open_zip_once_to_local_disk(small_dataset, tmp_path, monkeypatch):
    archive = tmp_path / "drive" / "open.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(small_dataset.rglob("*")):
            if p.is_file():
                zf.write(p, "open/" + str(p.relative_to(small_dataset)))
    monkeypatch.setenv("DACON_SIMULATED_ROOT", str(tmp_path))
    staged = runtime.stage_colab(archive)
    assert staged == tmp_path / "content" / "data" / "open" / "open" and (staged / "train.csv").is_file()
    stamp = (staged / "train.csv").stat().st_mtime_ns
    assert runtime.stage_colab(archive) == staged and (staged / "train.csv").stat().st_mtime_ns == stamp  # once
    assert not list((tmp_path / "content" / "data").glob(".*tmp*"))


def test_staging_a_zip_larger_than_the_free_disk_says_so_first(small_dataset, tmp_path, monkeypatch):
    archive = tmp_path / "open.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(small_dataset / "train.csv", "open/train.csv")
    monkeypatch.setattr(runtime.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9, 10))
    with pytest.raises(OSError, match=r"needs .* GB unzipped but .* GB free"):
        runtime.unzip_once(archive, tmp_path / "staged")
    assert not (tmp_path / "staged").exists() and not list(tmp_path.glob(".staged.tmp*"))


def test_prepare_on_kaggle_finds_the_input_and_sets_the_locations(small_dataset, tmp_path, monkeypatch):
    kaggle = tmp_path / "kaggle"
    shutil.copytree(small_dataset, kaggle / "input" / "dacon-236420" / "open")
    (kaggle / "input" / "dacon-photo-restore" / "helpers" / "core").mkdir(parents=True)  # an attached copy of the code
    (kaggle / "input" / "dacon-photo-restore" / "helpers" / "core" / "runtime.py").touch()
    monkeypatch.setenv("DACON_SIMULATED_ROOT", str(tmp_path))
    for var in ("DATA_DIR", "CHECKPOINT_ROOT", "WORK_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert runtime.where() == "kaggle"
    found = runtime.prepare()
    assert found == kaggle / "input" / "dacon-236420" / "open" and os.environ["DATA_DIR"] == str(found)
    assert runtime.runs_root() == kaggle / "working" / "drive_checkpoints"
    assert runtime.work_dir() == kaggle / "working"


def test_notebooks_generated_cells_are_in_sync():
    """Badges, the environment cell and the parameters cells (Colab forms) come from one place each."""
    res = subprocess.run([sys.executable, "scripts/sync_notebooks.py", "--check"], capture_output=True, text=True,
                         cwd=REPO_ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    import jupytext
    for py in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(py)
        assert "Open In Colab" in nb.cells[0].source and "Open In Kaggle" in nb.cells[0].source
        assert nb.metadata["kernelspec"]["name"] == "python3"
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert all("# @param" in line for line in params.source.splitlines()
                   if "=" in line and not line.startswith("#"))  # every assignment, not the help
