"""Score a folder of predictions with the DACON metric.

    python -m helpers.score --pred DIR --gt DIR --input DIR [--csv per_image.csv] [--json summary.json]

Files are matched by name: every PNG in --input (.png or .PNG) must have a truth in
--gt and a prediction in --pred of the same name and size (for an input X.PNG, X.png
counts too: that is what helpers.predict writes). A missing, unreadable or
mis-sized prediction, an input with no lost region, or an image whose score is
undefined (a constant prediction) is reported by name and nothing is scored (exit
code 2), since a score over fewer images than asked would mislead. Predictions in L,
P or RGBA mode are read as RGB, as the competition's reader (cv2.imread) does. The
JSON written by --json is strict JSON (no NaN).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .dacon_data import lost_region_mask
from .files import atomic_write
from .images import ImageFileError, read_gray, read_rgb
from .metrics import aggregate, hue_error_summary, hue_errors, score_image


class ScoreError(ValueError):
    """One or more predictions could not be scored; `problems` lists each by file."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n" + "\n".join(problems))


def same_image(folder: Path, name: str) -> Path:
    """folder/name, or the same stem with the other case of .png when only that exists."""
    path = folder / name
    if not path.exists():
        for other in (path.with_suffix(".png"), path.with_suffix(".PNG")):
            if other.exists():
                return other
    return path


def score_folders(pred_dir, gt_dir, input_dir, progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """(per-image table with S, M, C, score; summary with the means, score and n)."""
    pred_dir, gt_dir, input_dir = Path(pred_dir), Path(gt_dir), Path(input_dir)
    for d in (pred_dir, gt_dir, input_dir):
        if not d.is_dir():
            raise ScoreError([f"{d}: folder not found"])
    names = sorted(p.name for p in input_dir.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not names:
        raise ScoreError([f"{input_dir}: no .png inputs to score"])
    rows, scores, problems = [], [], []
    hue_hist = np.zeros(181, np.int64)
    for name in tqdm(names, desc="scoring", disable=not progress):
        try:
            gt = read_rgb(same_image(gt_dir, name))
            size = (gt.shape[1], gt.shape[0])
            inp = read_gray(input_dir / name, size)
            pred = read_rgb(same_image(pred_dir, name), size, allow_convert=True)
            scores.append(score_image(gt, pred, lost_region_mask(inp, gt)))
            errors = hue_errors(gt, pred)
            hue_hist += np.bincount(errors, minlength=181)
            rows.append({"name": name, **scores[-1].as_dict(),
                         "hue_err": float(np.median(errors)) if errors.size else None})
        except ImageFileError as e:  # names its own file
            problems.append(str(e))
        except ValueError as e:  # no lost region, undefined score...
            problems.append(f"{input_dir / name}: {e}")
    if problems:
        raise ScoreError(problems)
    table = pd.DataFrame(rows)
    return table, {**aggregate(scores), **hue_error_summary(hue_hist)}


def format_summary(summary: dict) -> str:
    return (f"{summary['n']} images   S {summary['S']:.4f}   M {summary['M']:.4f}   "
            f"C {summary['C']:.4f}   Score {summary['score']:.4f}"
            + (f"   (median hue error {summary['hue_err']:.0f} deg on coloured pixels, "
               f"{summary['hue_within_20']:.0%} within 20 deg)" if summary.get("hue_err") is not None else ""))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.score", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pred", required=True, help="folder of predicted RGB PNGs")
    ap.add_argument("--gt", required=True, help="folder of colour truth PNGs")
    ap.add_argument("--input", required=True, help="folder of damaged grayscale inputs (for the mask)")
    ap.add_argument("--csv", help="write the per-image table here")
    ap.add_argument("--json", help="write the summary (and per-image rows) here as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        table, summary = score_folders(args.pred, args.gt, args.input, progress=not args.quiet)
    except ScoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.csv:
        atomic_write(args.csv, lambda tmp: table.to_csv(tmp, index=False, float_format="%.6f"))
    if args.json:
        payload = json.dumps({"summary": summary, "images": table.to_dict("records")}, indent=2, allow_nan=False)
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(payload))
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
