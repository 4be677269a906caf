"""Sweeps: a notebook run once per point of a grid with papermill, and a leaderboard of the runs.

    python -m helpers.sweep SWEEP.yaml [--extra FILE ...] [--data-dir D] [--checkpoint-root R] [--kernel K]
    make sweep SWEEP=notebooks/params/sweeps/example.yaml         (notebook 07 does the same in Colab)

A sweep file (YAML):
    name: chroma-vs-lr                # <work folder>/sweeps/<name>/ and the points' run names
    notebook: 05_gan_training         # the numbered notebook each point executes
    base_files: [project_recipe.yaml, cpu/05_gan_training.yaml]   # parameter files under
                                      # notebooks/params/, applied in order (papermill -f)
    base: {EPOCHS: 4}                 # parameters every point gets
    grid: {CHROMA: [regress, bins], LR_G: [0.0001, 0.0002]}   # every combination, and/or
    points: [{HUE_WEIGHT: 1.0}]       # an explicit list
Each point gets its own run folder (RUN = <name>--<point>) and executed notebook
(<work folder>/sweeps/<name>/<point>.ipynb: runs/ locally, Drive in Colab). The file is
checked before anything runs, with one line and exit code 2 for what is wrong: its shape
(a grid value is a list, points a list of mappings), at most MAX_POINTS points (counted
before they are built), no point twice, and every point's parameters against the
notebook's configs, so a misspelt parameter stops the sweep at once. Numbers such as
1e-3 are numbers (helpers.core.recipes.load_yaml). A point whose
run has all its epochs is skipped; an unfinished one (a disconnect, a kill) runs again
and the notebook resumes its run. A failing point is recorded with its error and the
sweep goes on. The leaderboard reads every point's history.csv: its best validation
epoch (S, M, C, score, hue error), the epochs done and the training time, best first;
`plot_scores` draws score against epoch for every run.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import REPO_ROOT
from helpers.core.config import ConfigError, NOTEBOOK_CONFIGS, from_notebook
from helpers.core.files import atomic_write
from helpers.core.recipes import PARAMS_DIR, load_yaml
from helpers.core.runs import run_path
from helpers.core.runtime import work_dir

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
MAX_POINTS = 200  # each point is a notebook run of minutes to hours: more is a mistake in the file


@dataclass
class Sweep:
    name: str
    notebook: str
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    points: list = field(default_factory=list)
    source: str = ""
    out: str = ""  # where its executed notebooks, status and leaderboard go (default <work folder>/sweeps/<name>)

    def folder(self) -> Path:
        return Path(self.out) if self.out else work_dir() / "sweeps" / self.name  # Drive in Colab


def load(path, extra_files=(), out=None) -> Sweep:
    """A sweep file, its base parameters resolved (base_files, then `extra_files`, then base);
    ConfigError (one line, naming the file) for anything wrong in it."""
    path = Path(path)
    path = path if path.is_absolute() or path.exists() else REPO_ROOT / path
    spec = _read(path) or {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping (name, notebook, ...), not a {type(spec).__name__}")
    unknown = set(spec) - {"name", "notebook", "base_files", "base", "grid", "points"}
    if unknown or "name" not in spec or "notebook" not in spec:
        raise ConfigError(f"{path}: a sweep needs name and notebook (and base_files, base, grid, points); "
                          f"unknown keys: {sorted(unknown)}")
    if spec["notebook"] not in NOTEBOOK_CONFIGS:
        raise ConfigError(f"{path}: no notebook {spec['notebook']!r}; one of {sorted(NOTEBOOK_CONFIGS)}")
    if not isinstance(spec["name"], str) or not re.fullmatch(r"[\w.-]+", spec["name"]):
        raise ConfigError(f"{path}: name {spec['name']!r} must be a plain folder name")
    base_files, base, grid, listed = (spec.get(k) or d for k, d in
                                      (("base_files", []), ("base", {}), ("grid", {}), ("points", [])))
    _shape(path, base_files, base, grid, listed)
    merged = {}
    for f in [*base_files, *extra_files]:
        f = Path(f)
        f = f if f.is_absolute() or f.exists() else PARAMS_DIR / f
        values = _read(f) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{f}: a parameter file is a mapping of NAME: value")
        merged.update(values)
    merged.update(base)
    sweep = Sweep(spec["name"], spec["notebook"], merged, grid, listed, str(path), str(out or ""))
    named = points(sweep)
    print(f"{path.name}: {len(named)} point(s)")
    for name, params in named:  # every point is valid before anything runs
        try:
            check(sweep, params)
        except ConfigError as e:
            raise ConfigError(f"{path}: point {name}: {e}") from None
    return sweep


def _read(path: Path):
    try:
        return load_yaml(path)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _shape(path: Path, base_files, base, grid, listed) -> None:
    """The sweep file's parts have the shapes they must, and it holds at most MAX_POINTS points."""
    if not isinstance(base_files, list) or not all(isinstance(f, str) for f in base_files):
        raise ConfigError(f"{path}: base_files must be a list of file names, got {base_files!r}")
    if not isinstance(base, dict):
        raise ConfigError(f"{path}: base must be a mapping of NAME: value, got {base!r}")
    if not isinstance(grid, dict):
        raise ConfigError(f"{path}: grid must be a mapping of NAME: [values], got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: grid {key}: expected a non-empty list of values, got {values!r}"
                              + (f" (write [{values}] for one value)" if not isinstance(values, list) else ""))
    if not isinstance(listed, list) or not all(isinstance(p, dict) for p in listed):
        raise ConfigError(f"{path}: points must be a list of mappings (- {{NAME: value}}), got {listed!r}")
    count = (math.prod(len(v) for v in grid.values()) if grid else 0) + len(listed)
    if count > MAX_POINTS:
        raise ConfigError(f"{path}: {count:,} points (grid {' x '.join(str(len(v)) for v in grid.values()) or '-'} "
                          f"+ {len(listed)} listed), more than {MAX_POINTS}; each one is a notebook run")


def _slug(params: dict) -> str:
    text = "_".join(f"{k.lower()}-{v}" for k, v in params.items()) or "base"
    return re.sub(r"[^\w.-]+", "", text.replace("/", "-"))


def points(sweep: Sweep) -> list[tuple[str, dict]]:
    """(name, parameters) of every point: the grid's combinations, then the listed points. The
    same parameters twice are refused; distinct ones whose names would meet (characters dropped
    from a value) get a short hash of their values."""
    keys = list(sweep.grid)
    combos = [dict(zip(keys, values)) for values in itertools.product(*(sweep.grid[k] for k in keys))] if keys else []
    everything = combos + list(sweep.points)
    seen, out = {}, []
    for i, params in enumerate(everything):
        key = json.dumps(params, sort_keys=True, default=str)
        if key in seen:
            raise ConfigError(f"{sweep.source}: point {i + 1} repeats point {seen[key] + 1} ({params})")
        seen[key] = i
        out.append((_slug(params), params))
    names = [n for n, _ in out]
    out = [(n if names.count(n) == 1 else f"{n}-{hashlib.sha1(json.dumps(p, sort_keys=True, default=repr).encode()).hexdigest()[:6]}", p)
           for n, p in out]
    return out or [("base", {})]


def parameters(sweep: Sweep, point: str, params: dict, data_dir=None, checkpoint_root=None) -> dict:
    """The notebook parameters one point runs with."""
    out = {**sweep.base, **params, "RUN": f"{sweep.name}--{point}"}
    if data_dir:
        out["DATA_DIR"] = str(data_dir)
    if checkpoint_root:
        out["CHECKPOINT_ROOT"] = str(checkpoint_root)
    return out


def check(sweep: Sweep, params: dict) -> None:
    """A point's parameters are the notebook's (helpers.core.config), with valid values."""
    defaults = {f.upper(): getattr(cls(), f) for cls in NOTEBOOK_CONFIGS[sweep.notebook]
                for f in cls.__dataclass_fields__}
    from_notebook({**defaults, **sweep.base, **params}, *NOTEBOOK_CONFIGS[sweep.notebook])


def run_folder(params: dict, checkpoint_root=None) -> Path:
    return run_path(params["RUN"], params.get("CHECKPOINT_ROOT") or checkpoint_root)


def finished(params: dict, epochs: int, checkpoint_root=None) -> bool:
    history = run_folder(params, checkpoint_root) / "history.csv"
    return history.is_file() and len(pd.read_csv(history)) >= epochs


def run(sweep: Sweep, data_dir=None, checkpoint_root=None, kernel: str | None = None, progress: bool = True) -> dict:
    """Execute every unfinished point with papermill; returns {point: status} (also status.json)."""
    import papermill

    folder = sweep.folder()
    folder.mkdir(parents=True, exist_ok=True)
    status_file = folder / "status.json"
    status = json.loads(status_file.read_text()) if status_file.exists() else {}
    for name, params in points(sweep):
        p = parameters(sweep, name, params, data_dir, checkpoint_root)
        epochs = p.get("EPOCHS") or next(getattr(cls(), "epochs") for cls in NOTEBOOK_CONFIGS[sweep.notebook]
                                         if "epochs" in cls.__dataclass_fields__)
        if finished(p, epochs, checkpoint_root) and (folder / f"{name}.ipynb").is_file():
            print(f"== {name}: finished earlier, skipped")
            status[name] = {**status.get(name, {}), "status": "done"}
            continue
        print(f"== {name}: {json.dumps(params)}", flush=True)
        t0 = time.time()
        try:
            papermill.execute_notebook(str(NOTEBOOKS_DIR / f"{sweep.notebook}.ipynb"), str(folder / f"{name}.ipynb"),
                                       parameters=p, kernel_name=kernel, progress_bar=progress,
                                       cwd=str(NOTEBOOKS_DIR))
            status[name] = {"status": "done", "seconds": round(time.time() - t0)}
        except Exception as e:  # noqa: BLE001 (a failed point is reported and the sweep goes on)
            message = str(e).strip().splitlines()
            error = next((line for line in reversed(message) if line.strip()), type(e).__name__)
            status[name] = {"status": "failed", "error": error[:500], "seconds": round(time.time() - t0)}
            print(f"== {name}: FAILED: {error}", file=sys.stderr)
        atomic_write(status_file, lambda tmp: Path(tmp).write_text(json.dumps(status, indent=2)))
    return status


def histories(sweep: Sweep, checkpoint_root=None, data_dir=None) -> dict[str, pd.DataFrame]:
    out = {}
    for name, params in points(sweep):
        history = run_folder(parameters(sweep, name, params, data_dir, checkpoint_root), checkpoint_root) / "history.csv"
        if history.is_file():
            out[name] = pd.read_csv(history)
    return out


def leaderboard(sweep: Sweep, checkpoint_root=None, data_dir=None) -> pd.DataFrame:
    """One row per point, best validation score first (failed or empty points last)."""
    status_file = sweep.folder() / "status.json"
    status = json.loads(status_file.read_text()) if status_file.exists() else {}
    found = histories(sweep, checkpoint_root, data_dir)
    rows = []
    for name, params in points(sweep):
        row = {"point": name, **{k.lower(): v for k, v in params.items()}}
        h = found.get(name)
        if h is not None and len(h) and "score" in h:
            best = h.loc[h.score.idxmax()]
            row.update(score=best.score, S=best.S, M=best.M, C=best.C,
                       hue_err=best.get("hue_err"), best_epoch=int(best.epoch), epochs=int(h.epoch.max()),
                       minutes=round(h.seconds.sum() / 60, 1))
        row["status"] = status.get(name, {}).get("status", "not run")
        row["error"] = status.get(name, {}).get("error", "")
        rows.append(row)
    board = pd.DataFrame(rows)
    if "score" in board:
        board = board.sort_values("score", ascending=False, na_position="last")
    return board.reset_index(drop=True)


def plot_scores(sweep: Sweep, checkpoint_root=None, data_dir=None, path=None):
    """Validation score against epoch, one line per run (saved to `path` as PNG if given)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, h in histories(sweep, checkpoint_root, data_dir).items():
        if "score" in h:
            ax.plot(h.epoch, h.score, marker="o", label=name)
    ax.set(xlabel="epoch", ylabel="validation score", title=f"sweep {sweep.name}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    if path:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep", help="sweep file (YAML)")
    ap.add_argument("--extra", action="append", default=[], help="parameter files applied after base_files")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--checkpoint-root", default=None)
    ap.add_argument("--kernel", default=None, help="Jupyter kernel (default: the notebook's)")
    ap.add_argument("--out", default=None, help="folder for the executed notebooks and the leaderboard "
                                                "(default <work folder>/sweeps/<name>)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        sweep = load(args.sweep, args.extra, args.out)
    except (ConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    status = run(sweep, args.data_dir, args.checkpoint_root, args.kernel, progress=not args.quiet)
    board = leaderboard(sweep, args.checkpoint_root, args.data_dir)
    text = board.round(4).to_string(index=False)
    atomic_write(sweep.folder() / "leaderboard.csv", lambda tmp: board.to_csv(tmp, index=False))
    plot_scores(sweep, args.checkpoint_root, args.data_dir, sweep.folder() / "scores.png")
    print(text)
    print(f"== leaderboard: {sweep.folder() / 'leaderboard.csv'}, plot: {sweep.folder() / 'scores.png'}")
    return 0 if all(s.get("status") == "done" for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
