"""Compare trained pipelines on the validation and test splits, photo by photo, with a bootstrap.

    python scripts/compare_models.py --base models/restorer_v2.pt --candidate runs/shipped-v3/restorer_v3.pt
        [--candidate ...] [--split val --split test] [--out DIR] [--doc FILE]

Every model restores the same inputs (with its own settings: TTA as validated); each image
is scored; the candidate's difference from the base is averaged per source photo (the
dataset's meta.csv, which the sample dataset has) and bootstrapped over photos
(helpers.scoring.compare), over the whole split and, for the sample dataset, over each kind of
source photo apart (data/photos: everyday photos like the test split's; data/photos_extra:
training-only wallpapers, leaves, skies), since a model can gain on one kind and lose on
the other. A split with no truths (a DACON test folder) is skipped with a
note. Predictions are kept under --out; a rerun restores only what is missing there.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from helpers import REPO_ROOT
from helpers.core.files import atomic_write
from helpers.core.tables import to_markdown
from helpers.data.dacon import data_dir, read_test_csv
from helpers.data.photos import photo_kind, photo_sources
from helpers.data.splits import read_split
from helpers.pipeline.folder import restore_folder
from helpers.pipeline.restore import Restorer
from helpers.pipeline.shipped import DEFAULT_MODEL
from helpers.scoring.compare import METRICS, compare
from helpers.scoring.folders import score_folders


def split_images(data: Path, split: str):
    """(input paths, truth folder, input folder, input file name -> source photo or None) of a
    split, or None when it has no truths."""
    rows = read_split(data, "val_split.csv") if split == "val" else read_test_csv(data)
    inputs = [Path(p) for p in rows.input_image_path_abs]
    if "gt_image_path_abs" in rows:
        gt_dir = Path(rows.gt_image_path_abs.iloc[0]).parent
    else:
        gt_dir = data / "test_gt"
    if not gt_dir.is_dir():
        return None
    sources = photo_sources(data, rows)
    groups = None if sources is None else pd.Series(sources.to_numpy(), index=[p.name for p in inputs])
    return inputs, gt_dir, inputs[0].parent, groups


def scores(model: Path, inputs: list[Path], gt_dir: Path, input_dir: Path, out: Path) -> tuple[pd.DataFrame, dict]:
    """Restore what is missing under out, then score every input."""
    todo = [p for p in inputs if not (out / f"{p.stem}.png").exists()]
    if todo:
        restorer = Restorer.load(model)
        print(restorer.describe())
        report = restore_folder(restorer, todo, out)
        if report.failed:
            raise RuntimeError(f"{model}: restoring failed for {sorted(report.failed)[:3]}")
    return score_folders(out, gt_dir, input_dir, progress=False, names=[p.name for p in inputs])


def compared(split: str, name: str, base: pd.DataFrame, cand: pd.DataFrame, groups, resamples: int) -> list[dict]:
    """Difference rows over the whole split and, when photos are known, over each kind with 2+ photos."""
    parts = {"all": set(base.name)}
    if groups is not None:
        photo = base.name.map(groups)
        kind = photo.map(photo_kind, na_action="ignore")
        for k in sorted(kind.dropna().unique()):
            if photo[kind == k].nunique() >= 2:
                parts[k] = set(base.name[kind == k])
    rows = []
    for photos_of, names in parts.items():
        b, c = base[base.name.isin(names)], cand[cand.name.isin(names)]
        rows += [{"split": split, "candidate": name, "photos_of": photos_of, **r}
                 for r in compare(b, c, groups, resamples=resamples).to_dict("records")]
    return rows


def label(path: Path) -> str:
    """restorer_v2 for models/restorer_v2.pt; the run's name for a run folder or its best.pt."""
    return path.parent.name if path.name == "best.pt" else path.stem if path.suffix == ".pt" else path.name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/compare_models.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=str(DEFAULT_MODEL), help="the model to compare against (default: the shipped one)")
    ap.add_argument("--candidate", action="append", required=True, help="a pipeline file or GAN run (repeatable)")
    ap.add_argument("--split", action="append", choices=("val", "test"), help="default: both")
    ap.add_argument("--data", default=None, help="dataset folder (default: the sample dataset)")
    ap.add_argument("--out", default=None, help="default: runs/compare-<time>")
    ap.add_argument("--doc", default=None, help="also write the markdown tables here")
    ap.add_argument("--resamples", type=int, default=10_000)
    args = ap.parse_args(argv)
    data = data_dir(args.data)
    out = Path(args.out or REPO_ROOT / "runs" / time.strftime("compare-%Y%m%d-%H%M%S"))
    models = {label(Path(m)): Path(m) for m in [args.base, *args.candidate]}
    base = label(Path(args.base))
    summary, differences = [], []
    for split in args.split or ("val", "test"):
        found = split_images(data, split)
        if found is None:
            print(f"note: the {split} split of {data} has no truths; skipped")
            continue
        inputs, gt_dir, input_dir, groups = found
        if groups is None:
            print(f"note: {data / 'meta.csv'} not found: each image counts as its own photo")
        tables = {}
        for name, model in models.items():
            print(f"== {split}: {name}")
            tables[name], s = scores(model, inputs, gt_dir, input_dir, out / split / name)
            summary.append({"split": split, "model": name, **{m: s[m] for m in METRICS}, "images": s["n"]})
        for name in models:
            if name != base:
                differences += compared(split, name, tables[base], tables[name], groups, args.resamples)
    summary, differences = pd.DataFrame(summary), pd.DataFrame(differences)
    md = (f"# Model comparison, {time.strftime('%Y-%m-%d')}\n\nWritten by `scripts/compare_models.py` "
          f"(base `{base}`; differences are candidate minus base, per-photo means, 95 % bootstrap interval over "
          f"photos, {args.resamples} resamples).\n\n" + to_markdown(summary.round(4)) + "\n\n"
          + to_markdown(differences.round(4)) + "\n")
    atomic_write(out / "compare.json", lambda tmp: Path(tmp).write_text(json.dumps(
        {"summary": summary.to_dict("records"), "differences": differences.to_dict("records")}, indent=2)))
    for path in (out / "compare.md", *([Path(args.doc)] if args.doc else [])):
        atomic_write(path, lambda tmp: Path(tmp).write_text(md))
    print(summary.round(4).to_string(index=False))
    print(differences.round(4).to_string(index=False))
    print(f"== written: {out / 'compare.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
