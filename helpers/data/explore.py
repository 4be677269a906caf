"""Statistics for data exploration, computed from the images (so they hold for DACON data too)."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy import ndimage
from tqdm.auto import tqdm

from helpers.data.dacon import load_pair, lost_region_mask
from helpers.data.layout import IMAGE_SIZE


def pair_stats(paths: tuple[str, str]) -> tuple[dict, np.ndarray]:
    """One training pair's row of the table, and its truth's 180-bin OpenCV hue histogram."""
    inp_path, gt_path = paths
    inp, gt = load_pair(inp_path, gt_path, IMAGE_SIZE)
    mask = lost_region_mask(inp, gt)
    values, counts = np.unique(inp[mask], return_counts=True)
    hsv = cv2.cvtColor(gt, cv2.COLOR_RGB2HSV)
    r, g, b = gt.reshape(-1, 3).mean(0)
    row = {"name": Path(inp_path).name, "area_frac": float(mask.mean()),
           "fill": int(values[counts.argmax()]) if len(values) else -1,
           "fill_values": len(values),
           "regions": int(ndimage.label(mask, structure=np.ones((3, 3)))[1]),
           "R": r, "G": g, "B": b, "saturation": hsv[..., 1].mean(), "value": hsv[..., 2].mean()}
    return row, np.bincount(hsv[..., 0].ravel(), minlength=180)[:180]


def dataset_stats(rows: pd.DataFrame, progress: bool = True, workers: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """One pass over the training pairs (each file read once, in `workers` processes: one per
    CPU core by default; DACON's 29,603 pairs take minutes).

    Returns a per-image table (lost area fraction, fill value, distinct fill values,
    separate regions; mean R, G, B, saturation and brightness of the truth) and the
    summed 180-bin OpenCV hue histogram of all truths.
    """
    pairs = list(zip(rows.input_image_path_abs, rows.gt_image_path_abs))
    workers = min(workers or os.cpu_count() or 1, 8)
    out, hue = [], np.zeros(180)
    # a few pairs are read in this process: starting workers would cost more than it saves
    with ProcessPoolExecutor(workers) if workers > 1 and len(pairs) > 64 else nullcontext() as pool:
        stats = pool.map(pair_stats, pairs, chunksize=32) if pool else map(pair_stats, pairs)
        for row, hist in tqdm(stats, total=len(pairs), desc="dataset statistics", disable=not progress):
            out.append(row)
            hue += hist
    return pd.DataFrame(out), hue

