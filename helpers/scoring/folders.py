"""Scoring a folder of predictions against the truths and inputs, image by image (the `python -m helpers.score` command).

Files are matched by name: every PNG of the input folder (.png or .PNG) must have a truth
and a prediction of the same name and size (for an input X.PNG, X.png counts too: that is
what helpers.predict writes). A missing, unreadable or mis-sized prediction, an input with
no lost region, or an image whose score is undefined (a constant prediction) is reported
by name and nothing is scored (ScoreError), since a score over fewer images than asked would
mislead. Predictions in L, P or RGBA mode are read as RGB, as the competition's reader
(cv2.imread) does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from helpers.core.images import ImageFileError, read_gray, read_rgb
from helpers.data.dacon import lost_region_mask
from helpers.scoring.metrics import aggregate, hue_error_summary, hue_errors, score_image


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


def score_folders(pred_dir, gt_dir, input_dir, progress: bool = True,
                  names: list[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """(per-image table with S, M, C, score; summary with the means, score and n).

    names: only these inputs of input_dir (a split's images in the training folder); default all."""
    pred_dir, gt_dir, input_dir = Path(pred_dir), Path(gt_dir), Path(input_dir)
    for d in (pred_dir, gt_dir, input_dir):
        if not d.is_dir():
            raise ScoreError([f"{d}: folder not found"])
    if names is None:
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
