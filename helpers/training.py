"""The training skeleton every network shares: run folder, resume, epoch loop, validation,
checkpoints, TensorBoard and progress. A network's own file is a `Stage` (what to build,
one training step, how to validate, what best.pt holds); `fit` does the rest.

A run is one folder under the checkpoint root (helpers.checkpoints):
    config.json        the resolved settings and where each encoder's weights came from,
                       written when the run starts (and again at each resume)
    epoch_XXXX.pt      every `checkpoint_every` epochs and at the end: networks, optimizers,
                       config, provenance, RNG states, history, best value
    best.pt            the best networks by validation (helpers.pipeline_file)
    history.csv        one row per epoch
    tb/                TensorBoard events
    run.lock           who trains here now (helpers.run_lock)
Re-running with the same run name resumes from the newest readable checkpoint. Settings
marked resume="same" in helpers.config must match what the run was trained with, so a
resumed run never silently mixes two recipes; a resume rebuilds the networks the run
actually used (its provenance) and loads their weights, with no download.
"""
from __future__ import annotations

import json
import platform
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from . import __version__, checkpoints
from .config import TrainConfig, as_dict, resume_differences
from .files import atomic_write, remove_stale_temps
from .run_lock import RunLock


class ResumeError(ValueError):
    """The run folder holds a checkpoint trained with different settings."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_loader(dataset: Dataset, batch_size: int, seed: int, epoch: int, num_workers: int) -> DataLoader:
    """A shuffled loader whose order depends only on (seed, epoch), so a resumed run sees the same batches."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=len(dataset) > batch_size,
                      generator=g, num_workers=num_workers, persistent_workers=False)


def legacy_provenance(config: dict, network: str) -> dict:
    """Checkpoints before `provenance` kept it in config['arch']."""
    arch = config.get("arch")
    return {network: arch} if arch else {}


class Run:
    """One training run's folder, lock, history, best value and TensorBoard writer.

    Creating a Run locks its folder until `close()` (use it as a context manager, so the
    lock is released however training ends) and reads the newest checkpoint, refusing
    at once (before any network is built) when it was trained with other settings.
    """

    def __init__(self, cfg: TrainConfig, root=None, network: str = "model"):
        self.cfg = cfg
        self.dir = checkpoints.run_dir(cfg.run, root)  # fails now, not after an hour, if unwritable
        self.lock = RunLock(self.dir).acquire()
        self.writer: SummaryWriter | None = None
        try:
            for folder in (self.dir, self.dir / "samples"):  # temporary files of a killed earlier trainer
                remove_stale_temps(folder)
            self.latest = checkpoints.load_latest(self.dir)
        except BaseException:
            self.lock.release()
            raise
        self.history: list[dict] = []
        self.best = float("-inf")
        self.start_epoch = 0
        # which networks the run trains, and where their weights started: from the checkpoint when resuming
        self.provenance: dict = {}
        if self.latest is not None:
            saved = self.latest["config"]
            diffs = resume_differences(saved, cfg)
            if diffs:
                self.close()
                raise ResumeError(f"{self.latest['path']} was trained with other settings ({', '.join(diffs)}); "
                                  "choose a new run name, or delete the run folder to start over")
            self.provenance = self.latest.get("provenance") or legacy_provenance(saved, network)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def restore(self, modules: dict, optimizers: dict) -> int:
        """Load the newest checkpoint into modules/optimizers; returns the epoch to continue after."""
        state = self.latest
        if state is None:
            print(f"starting {self.dir.name} from scratch in {self.dir}")
            return 0
        for name, m in modules.items():
            m.load_state_dict(state["modules"][name])
        for name, o in optimizers.items():
            o.load_state_dict(state["optimizers"][name])
        checkpoints.set_rng_state(state["rng"])
        self.history, self.best, self.start_epoch = state["history"], state["best"], state["epoch"]
        print(f"resuming {self.dir.name} after epoch {self.start_epoch} from {Path(state['path']).name}")
        return self.start_epoch

    def write_config(self, stage: str) -> Path:
        """config.json: the resolved settings, the provenance, when and with what it (re)started."""
        record = {"stage": stage, "config": as_dict(self.cfg), "provenance": self.provenance,
                  "started": time.strftime("%Y-%m-%d %H:%M:%S"), "resumed_after_epoch": self.start_epoch,
                  "versions": {"helpers": __version__, "torch": torch.__version__, "python": platform.python_version()}}
        text = json.dumps(record, indent=2, default=str)
        return atomic_write(self.dir / "config.json", lambda tmp: Path(tmp).write_text(text))

    def open_writer(self, steps_per_epoch: int) -> SummaryWriter:
        # purge_step drops events a killed run logged after its last checkpoint
        self.writer = SummaryWriter(str(self.dir / "tb"), purge_step=self.start_epoch * steps_per_epoch)
        return self.writer

    def end_epoch(self, epoch: int, metrics: dict, modules: dict, optimizers: dict,
                  best_key: str, best_file) -> bool:
        """Record an epoch; save best.pt if it improved and epoch_XXXX.pt when one is due.

        best_file: a function returning what best.pt should hold (called only on improvement).
        Returns whether this epoch was the best so far.
        """
        self.history.append({"epoch": epoch, **metrics})
        improved = metrics[best_key] > self.best
        if improved:
            self.best = metrics[best_key]
            checkpoints.save(best_file().to_dict(), self.dir / "best.pt")
        if epoch % self.cfg.checkpoint_every == 0 or epoch == self.cfg.epochs:
            path = checkpoints.save_epoch({
                "config": as_dict(self.cfg), "provenance": self.provenance, "history": self.history,
                "best": self.best, "rng": checkpoints.rng_state(),
                "modules": {k: m.state_dict() for k, m in modules.items()},
                "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            }, self.dir, epoch)
            print(f"epoch {epoch}: checkpoint {path}")
        table = pd.DataFrame(self.history)
        atomic_write(self.dir / "history.csv", lambda tmp: table.to_csv(tmp, index=False))
        if self.writer is not None:
            self.writer.flush()
        return improved

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.lock.release()


class Stage:
    """What one network's training adds to the skeleton. Subclasses set `name` and `best_key`
    and fill in the methods; `fit` calls them in this order."""

    name = "model"  # the network's name in provenance and progress bars
    best_key = "score"  # the validation metric that chooses best.pt

    def __init__(self, cfg: TrainConfig, data_root, checkpoint_root, progress: bool):
        self.cfg, self.data_root, self.checkpoint_root, self.progress = cfg, data_root, checkpoint_root, progress
        self.modules: dict = {}  # name -> torch module: saved in every checkpoint
        self.optimizers: dict = {}  # name -> optimizer or scheduler (anything with a state_dict)

    def build(self, provenance: dict | None) -> dict:
        """Create the networks and optimizers (seeded already). provenance: the resumed run's,
        to rebuild the same architecture without downloading weights; None for a new run.
        Returns the provenance to record."""
        raise NotImplementedError

    def dataset(self) -> Dataset:
        raise NotImplementedError

    def prepare_validation(self) -> None:
        """Work done once per run before the first epoch (e.g. the validation masks)."""

    def start_epoch(self, epoch: int) -> None:
        """Before the epoch's first step (e.g. tell an on-the-fly dataset which epoch it is)."""

    def train(self) -> None:
        for m in self.modules.values():
            m.train()

    def train_step(self, batch: dict, epoch: int) -> dict:
        """One update; returns {history column: loss value} for logging."""
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> None:
        """After the epoch's last step (e.g. a learning-rate schedule)."""

    def validate(self, epoch: int, run: Run) -> dict:
        """Validation metrics of the epoch (best_key among them)."""
        raise NotImplementedError

    def summary(self, epoch: int, metrics: dict) -> str:
        return f"epoch {epoch}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "seconds")

    def best_file(self, epoch: int, metrics: dict, run: Run):
        """What best.pt holds (a helpers.pipeline_file object)."""
        raise NotImplementedError


def fit(stage: Stage, run_root=None) -> Run:
    """Train (or resume) `stage` until its config's epochs; returns the closed Run."""
    cfg = stage.cfg
    cfg.check()
    with Run(cfg, run_root, stage.name) as run:  # locks the folder; released however training ends
        seed_everything(cfg.seed)
        run.provenance = stage.build(run.provenance or None)
        start = run.restore(stage.modules, stage.optimizers)
        run.write_config(stage.name)
        dataset = stage.dataset()
        steps = len(epoch_loader(dataset, cfg.batch_size, cfg.seed, 0, 0))
        writer = run.open_writer(steps)
        stage.prepare_validation()
        for epoch in range(start + 1, cfg.epochs + 1):
            t0 = time.time()
            stage.start_epoch(epoch)
            stage.train()
            sums: dict[str, float] = {}
            loader = epoch_loader(dataset, cfg.batch_size, cfg.seed, epoch, cfg.num_workers)
            bar = tqdm(loader, desc=f"{stage.name} epoch {epoch}/{cfg.epochs}", disable=not stage.progress)
            for i, batch in enumerate(bar):
                for k, v in stage.train_step(batch, epoch).items():
                    sums[k] = sums.get(k, 0.0) + v
                    writer.add_scalar(f"train/{k}", v, (epoch - 1) * steps + i)
                bar.set_postfix({k.removeprefix("loss_"): f"{v / (i + 1):.4f}" for k, v in sums.items()})
            stage.end_epoch(epoch)
            n = max(1, len(loader))
            metrics = {**{k: v / n for k, v in sums.items()}, **stage.validate(epoch, run),
                       "seconds": time.time() - t0}
            print(stage.summary(epoch, metrics))
            run.end_epoch(epoch, metrics, stage.modules, stage.optimizers, stage.best_key,
                          lambda: stage.best_file(epoch, metrics, run))
    return run
