"""Training in one process or several (PyTorch DDP, launched by torchrun), from a script or a notebook.

    python -m helpers.launch STAGE [--config JSON] [--data-dir D] [--checkpoint-root R] [--quiet]

STAGE is mask (notebook 03), inpainter (04) or gan (05); --config holds the stage's
settings (helpers.core.config). With `processes` > 1 in the settings (0: one per visible GPU,
e.g. Kaggle's two T4s) the command starts itself again under
`torchrun --standalone --nproc_per_node N`: each process trains its share of every
epoch, DDP averages the gradients, and the main process alone writes checkpoints,
TensorBoard events, samples and validation; resuming works as in one process. A
notebook calls `train(...)`, which does the same (torchrun in a subprocess whose output
it passes on unchanged, so progress bars redraw in place) and returns the run's folder
and history. On the CPU the processes talk over gloo, which is how the tests run it.
"""
from __future__ import annotations

import argparse
import codecs
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from helpers.core import runs
from helpers.core.config import GanConfig, InpainterConfig, MaskConfig, as_dict, make
from helpers.training.gan import GanStage
from helpers.training.inpainter import InpainterStage
from helpers.training.loop import fit
from helpers.training.mask import MaskStage


CHUNK = 64 * 1024  # bytes read from torchrun at a time (whatever has arrived, up to this)


@dataclass
class Finished:
    """A run trained by other processes: its folder and history, as a Run offers them."""
    dir: Path
    history: list


# The training stages, each with its settings: the one place a stage is named.
STAGES = {"mask": (MaskStage, MaskConfig), "inpainter": (InpainterStage, InpainterConfig), "gan": (GanStage, GanConfig)}


def process_count(cfg) -> int:
    """How many training processes a config asks for (0: one per visible GPU, at least one)."""
    return cfg.processes or max(1, torch.cuda.device_count())


def train(stage: str, config, data_root=None, checkpoint_root=None, progress: bool = True):
    """Train (or resume) a stage: in this process, or with torchrun in several (then a Finished)."""
    stage_cls, config_cls = STAGES[stage]
    cfg = config if isinstance(config, config_cls) else make(config_cls, config, f"{stage} settings")
    n = process_count(cfg)
    if n <= 1 or os.environ.get("WORLD_SIZE"):
        return fit(stage_cls(cfg, data_root, checkpoint_root, progress), checkpoint_root)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
           "-m", "helpers.launch", stage, "--config", json.dumps(as_dict(cfg))]
    if data_root:
        cmd += ["--data-dir", str(data_root)]
    if checkpoint_root:
        cmd += ["--checkpoint-root", str(checkpoint_root)]
    if not progress:
        cmd.append("--quiet")
    print(f"launching {n} training processes: torchrun --nproc_per_node={n} -m helpers.launch {stage}", flush=True)
    # unbuffered: the children's own lines arrive as printed, not at their exit
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as proc:
        relay(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"distributed training of {stage} failed (exit code {proc.returncode}); see its output above")
    folder = runs.run_path(cfg.run, checkpoint_root)
    history = pd.read_csv(folder / "history.csv").to_dict("records") if (folder / "history.csv").exists() else []
    return Finished(folder, history)


def relay(source) -> None:
    """Copy a child's output to sys.stdout as it comes, unchanged. Reading lines in text mode
    would turn each of tqdm's carriage-return redraws into a line of its own (tens of thousands
    in a notebook cell); raw chunks keep them in place. The incremental decoder holds back a
    character split between two chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := source.read1(CHUNK):
        sys.stdout.write(decoder.decode(chunk))
        sys.stdout.flush()
    sys.stdout.write(decoder.decode(b"", final=True))
    sys.stdout.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.launch", description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=sorted(STAGES))
    ap.add_argument("--config", default="{}", help="JSON object of the stage's settings (helpers.core.config)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--checkpoint-root", default=None)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    train(args.stage, json.loads(args.config), args.data_dir, args.checkpoint_root, progress=not args.quiet)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
