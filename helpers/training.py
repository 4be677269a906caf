"""What the two training notebooks share: seeding, resuming a run, periodic checkpoints, logs.

A run is one folder under the checkpoint root (helpers.checkpoints): epoch_XXXX.pt every
`checkpoint_every` epochs and at the end, best.pt for the best model by validation,
history.csv, and TensorBoard events under tb/. Re-running a notebook with the same run
name resumes from the newest readable checkpoint; settings that would change the model
(everything but the run name, epoch count, checkpoint interval, worker count and
validation limit) must match, so a resumed run never silently mixes two recipes.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.tensorboard import SummaryWriter

from . import checkpoints
from .files import atomic_write, remove_stale_temps
from .run_lock import RunLock

# Settings a resumed run may change: they decide how long, how fast or where, not what is learnt.
RESUME_FREE = {"run", "epochs", "checkpoint_every", "num_workers", "val_limit"}


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


class Run:
    """One training run's folder, history, best value and TensorBoard writer.

    Creating a Run locks its folder (helpers.run_lock) until `close()`; use it as a
    context manager so the lock is released however training ends.
    """

    def __init__(self, config: dict, root=None, defaults: dict | None = None):
        self.config = dict(config)
        self.defaults = defaults or {}  # a setting added after a run was saved counts as unchanged at its default
        self.dir = checkpoints.run_dir(config["run"], root)  # fails now, not after an hour, if unwritable
        self.lock = RunLock(self.dir).acquire()
        for folder in (self.dir, self.dir / "samples"):  # temporary files of a killed earlier trainer
            remove_stale_temps(folder)
        self.history: list[dict] = []
        self.best = float("-inf")
        self.start_epoch = 0
        self.writer: SummaryWriter | None = None

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resume(self, modules: dict, optimizers: dict) -> int:
        """Load the newest good checkpoint into modules/optimizers; returns the epoch to continue after."""
        state = checkpoints.load_latest(self.dir)
        if state is not None:
            saved = {**{k: v for k, v in self.defaults.items() if k not in state["config"]}, **state["config"]}
            changed = sorted(k for k in set(saved) | set(self.config)
                             if k not in RESUME_FREE and saved.get(k) != self.config.get(k))
            if changed:
                diffs = ", ".join(f"{k}: {saved.get(k)!r} -> {self.config.get(k)!r}" for k in changed)
                raise ResumeError(f"{state['path']} was trained with other settings ({diffs}); "
                                  "choose a new run name, or delete the run folder to start over")
            for name, m in modules.items():
                m.load_state_dict(state["modules"][name])
            for name, o in optimizers.items():
                o.load_state_dict(state["optimizers"][name])
            checkpoints.set_rng_state(state["rng"])
            self.history, self.best, self.start_epoch = state["history"], state["best"], state["epoch"]
            print(f"resuming {self.dir.name} after epoch {self.start_epoch} from {Path(state['path']).name}")
        else:
            print(f"starting {self.dir.name} from scratch in {self.dir}")
        return self.start_epoch

    def open_writer(self, steps_per_epoch: int) -> SummaryWriter:
        # purge_step drops events a killed run logged after its last checkpoint
        self.writer = SummaryWriter(str(self.dir / "tb"), purge_step=self.start_epoch * steps_per_epoch)
        return self.writer

    def end_epoch(self, epoch: int, metrics: dict, modules: dict, optimizers: dict,
                  best_key: str, best_state) -> bool:
        """Record an epoch; save best.pt if it improved and epoch_XXXX.pt when one is due.

        best_state: a function returning what best.pt should hold (called only on improvement).
        Returns whether this epoch was the best so far.
        """
        self.history.append({"epoch": epoch, **metrics})
        improved = metrics[best_key] > self.best
        if improved:
            self.best = metrics[best_key]
            checkpoints.save({**best_state(), "epoch": epoch, "metrics": metrics, "config": self.config},
                             self.dir / "best.pt")
        if epoch % self.config["checkpoint_every"] == 0 or epoch == self.config["epochs"]:
            path = checkpoints.save_epoch({
                "config": self.config, "history": self.history, "best": self.best, "rng": checkpoints.rng_state(),
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
