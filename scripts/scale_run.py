"""`make scale`: the notebook series on a dataset of DACON's size, with what each notebook costs.

    python scripts/scale_run.py [--out runs/scale] [--train 29603] [--test 100] [--steps 30]

1. builds a DACON-sized dataset from the embedded photos (helpers.data.synthetic: 29,603
   training pairs, 100 test inputs, resumable) and its open.zip, into --out (kept between
   runs: a second run reuses both);
2. stages open.zip the way Colab does (helpers.core.runtime.unzip_once: from "Drive" onto the
   runtime's local disk), timed;
3. runs notebooks 01-06 with papermill, each a fresh kernel: 01 and 02 over all of it,
   03-05 over the full training split for a bounded number of steps (STEPS_PER_EPOCH,
   notebooks/params/scale/), validating on VAL_LIMIT images, 06 on every test input,
   ending in a validated submission.zip;
4. writes a table per step: wall time, peak memory (the proportional set size, PSS, of the
   whole process tree, kernel and loader workers together, sampled every second) and the disk
   each wrote (staged data, caches, run folders with their checkpoints and TensorBoard
   events, the executed notebook), into <out>/<time>/scale.md and .json (and --doc).

Disk: about 15 GB for the build, 15 GB for open.zip, 15 GB staged, and the caches (about
10 GB at the scale parameters). The run needs no GPU; on a 2-core CPU the build took 18
minutes, the zip 2 and the series 33 (docs/scale.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from helpers.core import runtime  # noqa: E402
from helpers.core.files import atomic_write  # noqa: E402
from helpers.core.tables import to_markdown  # noqa: E402

NOTEBOOKS = ["01_data_exploration", "02_dataset_split", "03_mask_generator", "04_inpainter",
             "05_gan_training", "06_inference_and_zip"]
PARAMS = REPO / "notebooks" / "params"


def folder_bytes(path: Path) -> int:
    """Bytes of the files under path (0 if it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass  # removed while we counted (a temporary file)
    return total


class PeakMemory:
    """Peak memory of a process and all its descendants, sampled in a thread: the sums of their
    proportional set sizes (PSS: pages that forked loader workers share with the kernel count
    once), in all and of it anonymous memory alone (what can run a machine out of memory;
    the rest maps files, such as the memory-mapped caches, and the kernel can drop it)."""

    def __init__(self, pid: int, every: float = 1.0):
        self.proc, self.every, self.peak, self.peak_anon = psutil.Process(pid), every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                return
            total = anon = 0
            for p in procs:
                t, a = pss(p.pid)
                total, anon = total + t, anon + a
            self.peak, self.peak_anon = max(self.peak, total), max(self.peak_anon, anon)
            self._stop.wait(self.every)

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_anon


def pss(pid: int) -> tuple[int, int]:
    """(PSS, anonymous PSS) of one process in bytes, from /proc/<pid>/smaps_rollup; (0, 0) if it is gone."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        return 0, 0
    return fields.get("Pss", 0), fields.get("Pss_Anon", 0) + fields.get("Pss_Shmem", 0)


def measured(cmd: list[str], env: dict, log) -> tuple[float, tuple[int, int]]:
    """Run cmd (its output to log); (seconds, (peak PSS, peak anonymous PSS) in bytes). Raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    mem = PeakMemory(proc.pid)
    rc = proc.wait()
    peaks = mem.stop()
    if rc:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed (exit {rc}); see {log.name}")
    return time.perf_counter() - t0, peaks


def mb(n: int) -> float:
    return round(n / 1e6, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/scale_run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "runs" / "scale"), help="where the data, the stand-ins for "
                    "Drive and the runtime's disk, and the results go (default runs/scale)")
    ap.add_argument("--train", type=int, default=29_603)
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--steps", type=int, default=None, help="STEPS_PER_EPOCH of 03-05 (default: notebooks/params/scale/)")
    ap.add_argument("--kernel", default="dacon-photo-restore")
    ap.add_argument("--doc", default=None, help="also write the table here (make scale: docs/scale.md)")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    here = out / time.strftime("%Y%m%d-%H%M%S")
    here.mkdir(parents=True)
    build, drive, local = out / "dacon-size", out / "drive", out / "content"
    archive = drive / "open.zip"
    rows = []
    log = open(here / "scale.log", "w")

    def record(step: str, seconds: float, peaks: tuple[int, int], written: dict) -> None:
        rows.append({"step": step, "wall_min": round(seconds / 60, 1), "peak_pss_mb": mb(peaks[0]),
                     "peak_anon_mb": mb(peaks[1]), **{f"{k}_mb": mb(v) for k, v in written.items()}})
        print(rows[-1], flush=True)

    # 1. the dataset and its zip (both kept for the next run)
    cmd = [sys.executable, "-m", "helpers.sample_data", "--out", str(build), "--train", str(args.train),
           "--test", str(args.test)]
    if not archive.is_file():
        cmd += ["--zip", str(archive)]
    seconds, peak = measured(cmd, os.environ.copy(), log)
    record("build + open.zip (skipped when built)", seconds, peak,
           {"dataset": folder_bytes(build), "zip": folder_bytes(archive)})

    # 2. staged as on Colab: unzipped from Drive to the runtime's disk (a fresh runtime each run)
    staged = local / "data" / archive.stem
    if staged.exists():  # the previous run's staged copy (unzip_once marks it) is replaced; anything else stays
        if not (staged / runtime.STAGED).is_file():
            raise SystemExit(f"{staged}: exists and is not a copy this script staged; move it away or choose "
                             "another --out")
        shutil.rmtree(staged)
    t0 = time.perf_counter()
    mem = PeakMemory(os.getpid())
    runtime.unzip_once(archive, staged)
    record("stage open.zip (Colab: Drive to local disk)", time.perf_counter() - t0, mem.stop(),
           {"staged": folder_bytes(staged)})

    # 3. the series, each notebook in a fresh kernel, with the scale parameters
    cache, runs, work = local / "cache", drive / "drive_checkpoints", drive / "work"
    env = {**os.environ, "DATA_DIR": str(staged), "CHECKPOINT_ROOT": str(runs), "WORK_DIR": str(work),
           "DACON_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    for name in NOTEBOOKS:
        before = {"cache": folder_bytes(cache), "runs": folder_bytes(runs), "events": _events(runs)}
        cmd = [sys.executable, "-m", "papermill", "--kernel", args.kernel, "--no-progress-bar",
               f"notebooks/{name}.ipynb", str(here / f"{name}.ipynb")]
        if name == "05_gan_training":
            cmd += ["-f", str(PARAMS / "project_recipe.yaml")]
        if (PARAMS / "scale" / f"{name}.yaml").is_file():
            cmd += ["-f", str(PARAMS / "scale" / f"{name}.yaml")]
        if args.steps is not None and name[:2] in ("03", "04", "05"):
            cmd += ["-p", "STEPS_PER_EPOCH", str(args.steps)]
        if name == "06_inference_and_zip":
            cmd += ["-p", "OUT_DIR", str(here / "submission")]
        print(f"== {name}", flush=True)
        seconds, peak = measured(cmd, env, log)
        after = {"cache": folder_bytes(cache), "runs": folder_bytes(runs), "events": _events(runs)}
        written = {k: after[k] - before[k] for k in after}
        written["notebook"] = folder_bytes(here / f"{name}.ipynb")
        if name == "02_dataset_split":
            written["split"] = sum(folder_bytes(staged / f) for f in ("train_split.csv", "val_split.csv"))
        if name == "06_inference_and_zip":
            written["submission"] = folder_bytes(here / "submission")
        record(name, seconds, peak, written)

    table = pd.DataFrame(rows)
    submission = here / "submission" / "submission.zip"
    record_json = {"train": args.train, "test": args.test, "commit": _commit(), "cpus": os.cpu_count(),
                   "submission": str(submission), "submission_exists": submission.is_file(),
                   "steps": rows}
    atomic_write(here / "scale.json", lambda tmp: Path(tmp).write_text(json.dumps(record_json, indent=2)))
    md = (f"Series at DACON's size ({args.train} training pairs, {args.test} test inputs) on {os.cpu_count()} "
          f"CPU cores, commit {record_json['commit']}; wall time in minutes, memory and disk written in MB "
          "(1 MB = 10^6 bytes).\n\n" + to_markdown(table.astype(object).where(table.notna(), ""), digits=1) + "\n")
    for path in (here / "scale.md", *([Path(args.doc)] if args.doc else [])):
        atomic_write(path, lambda tmp: Path(tmp).write_text(md))
    print(md)
    print(f"== written: {here}; submission {'written' if submission.is_file() else 'MISSING'}: {submission}")
    return 0 if submission.is_file() else 1


def _events(runs: Path) -> int:
    """Bytes of the TensorBoard event files under runs."""
    return sum(p.stat().st_size for p in runs.rglob("events.out.tfevents.*")) if runs.is_dir() else 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
