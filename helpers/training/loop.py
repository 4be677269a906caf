"""The training skeleton every network shares: run folder, resume, epoch loop, validation,
checkpoints, TensorBoard and progress. A network's own file is a `Stage` (what to build,
one training step, how to validate, what best.pt holds); `fit` does the rest.

A run is one folder under the checkpoint root (helpers.training.checkpoints):
    config.json        the resolved settings and where each encoder's weights came from,
                       written when the run starts (and again at each resume)
    epoch_XXXX.pt      every `checkpoint_every` epochs and at the end: networks, optimizers,
                       the float16 GradScaler's state, config, provenance, the dataset's
                       fingerprint and split (helpers.data.splits.data_record), RNG states,
                       history, best value
    best.pt            the best networks by validation (helpers.pipeline.model_files), saved with
                       the epoch checkpoints, not at every improvement: on Google Drive every
                       replaced file stays in the trash and counts against the quota
    history.csv        one row per epoch
    tb/                TensorBoard events
    run.lock           who trains here now (helpers.training.run_lock)
Re-running with the same run name resumes from the newest readable checkpoint. Settings
marked resume="same" in helpers.core.config must match what the run was trained with, so a
resumed run never silently mixes two recipes, nor two datasets; a resume rebuilds the networks the run
actually used (its provenance) and loads their weights, with no download. Only the
newest `keep_checkpoints` epoch files stay. A resumed run keeps its best.pt unless an epoch
beats the better of the checkpoint's best value and best.pt's own (best.pt may have been
written after the checkpoint, before the run was killed).

One data loader serves the whole run (pinned memory and persistent workers on a GPU);
its order depends only on (seed, epoch), and the datasets draw their randomness from
(seed, epoch, index), so a resumed run sees the very batches the killed one would have.
Losses stay on the device and reach the host every LOG_EVERY steps only. Under torchrun
(helpers.training.launch) each process trains its share of every epoch in DDP and the main one
alone writes checkpoints, logs and validates.
"""
from __future__ import annotations

import json
import math
import platform
import random
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as torch_dist
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from helpers import __version__
from helpers.core import runs
from helpers.core.config import TrainConfig, as_dict, resume_differences
from helpers.core.files import atomic_write, remove_stale_temps
from helpers.data.dacon import data_dir
from helpers.data.splits import data_differences, data_record, read_split
from helpers.networks import torch_files
from helpers.networks.devices import (Distributed, Precision, barrier, device, distributed, init_distributed,
                                      loader_workers, prepare_module)
from helpers.pipeline.model_files import legacy_provenance
from helpers.training import checkpoints
from helpers.training.run_lock import RunLock

LOG_EVERY = 20  # steps between host syncs for the progress bar and TensorBoard


class ResumeError(ValueError):
    """The run folder holds a checkpoint trained with different settings."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class EpochSampler(Sampler):
    """Indices `epoch * n + i` (i a permutation of range(n) seeded by (seed, epoch)), this rank's share.

    Datasets take `index % n` as the item and `index // n` as the epoch, so their random
    augmentation follows (seed, epoch, item) whatever the worker or process. Call
    set_epoch before each epoch. limit > 0: each rank takes only the first `limit` items of
    its share (a bounded epoch: a different random subset every epoch).
    """

    def __init__(self, n: int, seed: int, dist: Distributed | None = None, limit: int = 0):
        self.n, self.seed, self.epoch, self.limit = n, seed, 0, limit
        self.rank, self.world = (dist.rank, dist.world) if dist else (0, 1)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def share(self) -> int:
        return -(-self.n // self.world)

    def __len__(self) -> int:
        return min(self.share(), self.limit) if self.limit else self.share()

    def __iter__(self):
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        order = order.tolist()
        order += order[: self.share() * self.world - self.n]  # every rank the same number of items
        return iter([self.epoch * self.n + i for i in order[self.rank::self.world][:len(self)]])


def run_loader(dataset: Dataset, cfg: TrainConfig, dist: Distributed | None, dev: torch.device):
    """The run's one loader and its sampler."""
    sampler = EpochSampler(len(dataset), cfg.seed, dist, cfg.steps_per_epoch * cfg.batch_size)
    workers = loader_workers(cfg.num_workers)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                        drop_last=len(sampler) > cfg.batch_size, pin_memory=dev.type == "cuda",
                        persistent_workers=workers > 0)
    return loader, sampler


class Run:
    """One training run's folder, lock, history, best value and TensorBoard writer.

    Creating a Run locks its folder until `close()` (use it as a context manager, so the
    lock is released however training ends) and reads the newest checkpoint, refusing
    at once (before any network is built) when it was trained with other settings.
    main=False (the other DDP ranks): no lock, no writes, the checkpoint only read.
    """

    def __init__(self, cfg: TrainConfig, root=None, network: str = "model", main: bool = True,
                 data: dict | None = None):
        self.cfg, self.main, self.data = cfg, main, data
        self.pending_best: dict | None = None  # best.pt's contents, saved with the next checkpoint
        self.damaged_best: Path | None = None  # best.pt when it could not be read on resume
        # the main rank checks the folder is writable now, not after an hour
        self.dir = runs.run_dir(cfg.run, root) if main else runs.run_path(cfg.run, root)
        self.lock = RunLock(self.dir).acquire() if main else None
        self.writer: SummaryWriter | None = None
        try:
            if main:
                for folder in (self.dir, self.dir / "samples"):  # temporary files of a killed earlier trainer
                    remove_stale_temps(folder)
            self.latest = checkpoints.load_latest(self.dir)
        except BaseException:
            if self.lock:
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
            other_data = data_differences(self.latest.get("data"), data) if data else None
            if other_data:
                self.close()
                raise ResumeError(f"{self.latest['path']} cannot go on here: {other_data}. Choose a new RUN name "
                                  "to train on this data, or point DATA_DIR at the data the run was trained on")
            self.provenance = self.latest.get("provenance") or legacy_provenance(**{network: saved.get("arch")})  # kept in config['arch'] before

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def restore(self, modules: dict, optimizers: dict, scaler: torch.amp.GradScaler | None = None,
                best_key: str | None = None) -> int:
        """Load the newest checkpoint into modules/optimizers and the float16 GradScaler (if
        any); returns the epoch to continue after. With best_key, the best value to beat is
        the larger of the checkpoint's and best.pt's."""
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
        self.restore_scaler(scaler, state.get("scaler") or {})
        if best_key and self.main:
            self.best = max(self.best, self.best_in_file(best_key))
        return self.start_epoch

    def restore_scaler(self, scaler: torch.amp.GradScaler | None, saved: dict) -> None:
        """Continue the GradScaler's scale from the checkpoint, not from 65536 again (a restart
        skips steps until it has halved its way back). A checkpoint from before the scaler was
        saved, or an amp setting changed on resume, leaves one side without state: one line says so."""
        if scaler is not None and saved:
            scaler.load_state_dict(saved)
        elif self.main and scaler is not None:
            print(f"{self.dir.name}: the checkpoint holds no GradScaler state (it is older than that, or was "
                  f"trained without fp16): the scale starts again at {scaler.get_scale():g}")
        elif self.main and saved:
            print(f"{self.dir.name}: the checkpoint's GradScaler state is not used (amp is no longer fp16)")

    def best_in_file(self, best_key: str) -> float:
        """The `best_key` metric best.pt records (-inf if there is no best.pt). best.pt may be newer
        than the checkpoint; an unreadable one counts as -inf, with a warning."""
        path = self.dir / "best.pt"
        if not path.exists():
            return float("-inf")
        try:
            value = float(torch_files.load_file(path, "best model file")["metrics"][best_key])
        except (ValueError, KeyError, TypeError) as e:
            warnings.warn(f"{path}: its {best_key} cannot be read ({e}); it is rebuilt from the newest "
                          "checkpoint", stacklevel=3)
            self.damaged_best = path
            return float("-inf")
        if math.isnan(value):
            return float("-inf")
        if value > self.best:
            print(f"{self.dir.name}: best.pt ({best_key} {value:.4f}) is better than the checkpoint's best "
                  f"({self.best:.4f}): only an epoch that beats it replaces it")
        return value

    def rebuild_best(self, best_key: str, best_file) -> None:
        """best.pt could not be read: set it aside as best.pt.damaged (kept, never deleted) and write
        a new one from the newest checkpoint's networks and metrics (best_file(history row)), so a
        finished run is not left with a broken best.pt and a resumed one replaces it only with a
        better epoch."""
        damaged, row = self.damaged_best, self.history[-1]
        aside = next(p for i in range(1000) if not (p := damaged.with_name(f"best.pt.damaged{f'.{i}' if i else ''}")).exists())
        damaged.rename(aside)
        torch_files.save(cpu_copy(best_file(row).to_dict()), damaged)
        best_epoch = max(self.history, key=lambda r: r[best_key])["epoch"]
        self.best, self.damaged_best = row[best_key], None
        print(f"{damaged}: could not be read; kept as {aside.name}, and best.pt rebuilt from the checkpoint of epoch "
              f"{row['epoch']} ({best_key} {row[best_key]:.4f})"
              + (f"; the run's best epoch was {best_epoch}, whose weights no checkpoint holds any more"
                 if best_epoch != row["epoch"] else ""))

    def write_config(self, stage: str, runtime: dict) -> None:
        """config.json: the resolved settings, the provenance, when and with what it (re)started."""
        if not self.main:
            return
        record = {"stage": stage, "config": as_dict(self.cfg), "provenance": self.provenance, "data": self.data,
                  "started": time.strftime("%Y-%m-%d %H:%M:%S"), "resumed_after_epoch": self.start_epoch,
                  "runtime": runtime,
                  "versions": {"helpers": __version__, "torch": torch.__version__, "python": platform.python_version()}}
        text = json.dumps(record, indent=2, default=str)
        atomic_write(self.dir / "config.json", lambda tmp: Path(tmp).write_text(text))

    def open_writer(self, steps_per_epoch: int) -> None:
        if self.main:  # purge_step drops events a killed run logged after its last checkpoint
            self.writer = SummaryWriter(str(self.dir / "tb"), purge_step=self.start_epoch * steps_per_epoch)

    def log(self, tag: str, value, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def end_epoch(self, epoch: int, metrics: dict, modules: dict, optimizers: dict,
                  best_key: str, best_file, scaler: torch.amp.GradScaler | None = None) -> bool:
        """Record an epoch; save best.pt if it improved and epoch_XXXX.pt when one is due.

        best_file: a function returning what best.pt should hold (called only on improvement).
        scaler: the float16 GradScaler, whose state the checkpoint keeps ({} without one).
        Returns whether this epoch was the best so far.
        """
        self.history.append({"epoch": epoch, **metrics})
        if not self.main:
            return False
        improved = metrics[best_key] > self.best
        if improved:  # kept in memory until the next checkpoint: each save on Drive leaves a copy in its trash
            self.best = metrics[best_key]
            self.pending_best = cpu_copy(best_file().to_dict())
        if epoch % self.cfg.checkpoint_every == 0 or epoch == self.cfg.epochs:
            if self.pending_best is not None:  # first: a kill between the two leaves best.pt the newer
                torch_files.save(self.pending_best, self.dir / "best.pt")
                self.pending_best = None
            path = checkpoints.save_epoch({
                "config": as_dict(self.cfg), "provenance": self.provenance, "history": self.history,
                "data": self.data or {},
                "best": self.best, "rng": checkpoints.rng_state(),
                "modules": {k: m.state_dict() for k, m in modules.items()},
                "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
                "scaler": scaler.state_dict() if scaler is not None else {},  # plain numbers
            }, self.dir, epoch)
            print(f"epoch {epoch}: checkpoint {path}")
            if self.cfg.keep_checkpoints:  # older epoch files: only this run's own, newest first
                for old in checkpoints.epoch_files(self.dir)[self.cfg.keep_checkpoints:]:
                    old.unlink(missing_ok=True)
        table = pd.DataFrame(self.history)
        atomic_write(self.dir / "history.csv", lambda tmp: table.to_csv(tmp, index=False))
        if self.writer is not None:
            self.writer.flush()
        return improved

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.lock is not None:
            self.lock.release()


def cpu_copy(value):
    """`value` with every tensor copied to the CPU (state dicts share the training weights' storage)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cpu_copy(v) for v in value)
    return value


def open_run(cfg: TrainConfig, root, network: str, dist: Distributed | None, data: dict | None = None) -> Run:
    """The Run of this process: the main rank locks and checks the folder first, the others
    then only read it; an error on the main rank stops every rank with the same message."""
    if dist is None:
        return Run(cfg, root, network, data=data)
    run, error = None, None
    if dist.main:
        try:
            run = Run(cfg, root, network, data=data)
        except Exception as e:  # noqa: BLE001 (re-raised on every rank below)
            error = e
    message = [None if error is None else f"{type(error).__name__}: {error}"]
    torch_dist.broadcast_object_list(message, src=0)
    if error is not None:
        raise error
    if message[0] is not None:
        raise RuntimeError(f"the main training process stopped: {message[0]}")
    return run if dist.main else Run(cfg, root, network, main=False, data=data)


class Stage:
    """What one network's training adds to the skeleton. Subclasses set `name` and `best_key`
    and fill in the methods; `fit` calls them in this order."""

    name = "model"  # the network's name in provenance and progress bars
    best_key = "score"  # the validation metric that chooses best.pt

    def __init__(self, cfg: TrainConfig, data_root, checkpoint_root, progress: bool):
        self.cfg, self.data_root, self.checkpoint_root, self.progress = cfg, data_root, checkpoint_root, progress
        self.modules: dict = {}  # name -> torch module: saved in every checkpoint
        self.optimizers: dict = {}  # name -> optimizer or scheduler (anything with a state_dict)
        self.device = device()
        self.precision = Precision(cfg.amp, self.device)
        self.read_splits(data_root)

    def read_splits(self, data_root) -> None:
        """The training and validation rows (notebook 02's split): read now, so a missing split
        stops the stage by name before anything is built."""
        root = data_dir(data_root)
        self.train_rows = read_split(root, "train_split.csv")
        self.val_rows = read_split(root, "val_split.csv", self.cfg.val_limit)

    def build(self, provenance: dict | None) -> dict:
        """Create the networks (on self.device) and optimizers (seeded already). provenance: the
        resumed run's, to rebuild the same architecture without downloading weights; None for a
        new run. Returns the provenance to record."""
        raise NotImplementedError

    def distribute(self, dist: Distributed | None) -> None:
        """Wrap the trained networks for DDP (after their weights are loaded); nothing to do alone."""

    def dataset(self) -> Dataset:
        raise NotImplementedError

    def prepare_validation(self) -> None:
        """Work done once per run before the first epoch (e.g. the validation masks); main rank only."""

    def start_epoch(self, epoch: int) -> None:
        """Before the epoch's first step."""

    def train(self) -> None:
        for m in self.modules.values():
            m.train()

    def train_step(self, batch: dict, epoch: int) -> dict:
        """One update; returns {history column: detached scalar tensor} (no host sync here)."""
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> None:
        """After the epoch's last step (e.g. a learning-rate schedule)."""

    def validate(self, epoch: int, run: Run) -> dict:
        """Validation metrics of the epoch (best_key among them); main rank only."""
        raise NotImplementedError

    def summary(self, epoch: int, metrics: dict) -> str:
        return f"epoch {epoch}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "seconds")

    def best_file(self, epoch: int, metrics: dict, run: Run):
        """What best.pt holds (a helpers.pipeline.model_files object)."""
        raise NotImplementedError


class CosineDecay(torch.optim.lr_scheduler.LambdaLR):
    """The learning rate from lr to 0 along half a cosine over `horizon` epochs, then held at 0.
    Its value is a function of the epoch and today's horizon alone: a run resumed with more
    epochs decays over the new horizon (torch's CosineAnnealingLR restores the old T_max from
    its state and climbs back up after it), and older checkpoints holding that scheduler's
    state resume too, since only the epoch count is read from a saved state."""

    def __init__(self, optimizer: torch.optim.Optimizer, horizon: int):
        self.horizon = horizon
        super().__init__(optimizer, self.factor)

    def factor(self, epoch: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(epoch, self.horizon) / self.horizon))

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = state["last_epoch"]
        self._last_lr = [base * self.factor(self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


class OneNetworkStage(Stage):
    """A stage that trains one network (self.model) with AdamW and a cosine decay over the
    config's decay_horizon() epochs: the mask model and the inpainter. Its config has lr and
    weight_decay."""

    def adopt(self, model: torch.nn.Module, arch: dict) -> dict:
        """Take the built network (called by build): device, optimizer, schedule; its provenance."""
        self.model, self.arch = prepare_module(model, self.device), arch
        opt = torch.optim.AdamW(model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        sched = CosineDecay(opt, self.cfg.decay_horizon())
        self.modules, self.optimizers = {"model": model}, {"opt": opt, "sched": sched}
        return {self.name: arch}

    def distribute(self, dist: Distributed | None) -> None:
        self.trained = wrap_ddp(self.model, dist)

    def update(self, loss: torch.Tensor) -> None:
        self.precision.backward(loss, self.optimizers["opt"])
        self.precision.update()

    def end_epoch(self, epoch: int) -> None:
        self.optimizers["sched"].step()


def wrap_ddp(module: torch.nn.Module, dist: Distributed | None):
    """The module as DDP trains it (or itself alone)."""
    if dist is None:
        return module
    from torch.nn.parallel import DistributedDataParallel
    ids = [module_device.index] if (module_device := next(module.parameters()).device).type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def fit(stage: Stage, run_root=None) -> Run:
    """Train (or resume) `stage` until its config's epochs; returns the closed Run.

    Under torchrun every process calls this; the main one writes (helpers.training.launch).
    """
    cfg = stage.cfg
    cfg.check()
    dist = distributed()
    init_distributed(dist)
    data = data_record(stage.data_root)  # the dataset and split it trains on: a resume on others is refused
    with open_run(cfg, run_root, stage.name, dist, data) as run:  # the main rank locks the folder until the end
        seed_everything(cfg.seed)
        run.provenance = stage.build(run.provenance or None)
        start = run.restore(stage.modules, stage.optimizers, stage.precision.scaler, stage.best_key)
        if run.main and start and run.damaged_best is not None:
            run.rebuild_best(stage.best_key, lambda row: stage.best_file(
                row["epoch"], {k: v for k, v in row.items() if k != "epoch"}, run))
        stage.distribute(dist)
        if dist and not dist.main:
            barrier()  # the main rank builds the data cache (helpers.training.data_cache) alone, first
        dataset = stage.dataset()
        if dist and dist.main:
            barrier()
        loader, sampler = run_loader(dataset, cfg, dist, stage.device)
        run.write_config(stage.name, {"device": str(stage.device), "precision": stage.precision.describe(),
                                      "processes": dist.world if dist else 1, "loader_workers": loader.num_workers})
        steps = len(loader)
        run.open_writer(steps)
        if run.main:
            print(f"training on {stage.device} in {stage.precision.describe()}"
                  + (f", {dist.world} processes (DDP)" if dist else "") + f", {loader.num_workers} loader worker(s)")
            stage.prepare_validation()
        for epoch in range(start + 1, cfg.epochs + 1):
            t0 = time.time()
            sampler.set_epoch(epoch)
            stage.start_epoch(epoch)
            stage.train()
            sums: dict[str, torch.Tensor] = {}
            bar = tqdm(loader, desc=f"{stage.name} epoch {epoch}/{cfg.epochs}", disable=not (stage.progress and run.main))
            for i, batch in enumerate(bar):
                for k, v in stage.train_step(batch, epoch).items():
                    sums[k] = sums.get(k, 0.0) + v
                if (i + 1) % LOG_EVERY == 0 or i + 1 == steps:  # the only host syncs of the loop
                    means = {k: float(v) / (i + 1) for k, v in sums.items()}
                    for k, v in means.items():
                        run.log(f"train/{k}", v, (epoch - 1) * steps + i)
                    bar.set_postfix({k.removeprefix("loss_"): f"{v:.4f}" for k, v in means.items()})
            stage.end_epoch(epoch)
            metrics = {k: float(v) / max(1, steps) for k, v in sums.items()}
            if run.main:
                metrics = {**metrics, **stage.validate(epoch, run), "seconds": time.time() - t0}
                print(stage.summary(epoch, metrics))
            run.end_epoch(epoch, metrics, stage.modules, stage.optimizers, stage.best_key,
                          lambda: stage.best_file(epoch, metrics, run), stage.precision.scaler)
            barrier()  # the other ranks wait for validation and the checkpoint
    return run
