"""Statistics for data exploration, computed from the images (so they hold for DACON data too)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy import ndimage
from tqdm.auto import tqdm

from .dacon_data import IMAGE_SIZE, load_pair, lost_region_mask


def dataset_stats(rows: pd.DataFrame, progress: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """One pass over the training pairs (each file read once).

    Returns a per-image table (lost area fraction, fill value, distinct fill values,
    separate regions; mean R, G, B, saturation and brightness of the truth) and the
    summed 180-bin OpenCV hue histogram of all truths.
    """
    out, hue = [], np.zeros(180)
    for inp_path, gt_path in tqdm(zip(rows.input_image_path_abs, rows.gt_image_path_abs),
                                  total=len(rows), desc="dataset statistics", disable=not progress):
        inp, gt = load_pair(inp_path, gt_path, IMAGE_SIZE)
        mask = lost_region_mask(inp, gt)
        values, counts = np.unique(inp[mask], return_counts=True)
        hsv = cv2.cvtColor(gt, cv2.COLOR_RGB2HSV)
        hue += np.bincount(hsv[..., 0].ravel(), minlength=180)[:180]
        r, g, b = gt.reshape(-1, 3).mean(0)
        out.append({"name": Path(inp_path).name, "area_frac": float(mask.mean()),
                    "fill": int(values[counts.argmax()]) if len(values) else -1,
                    "fill_values": len(values),
                    "regions": int(ndimage.label(mask, structure=np.ones((3, 3)))[1]),
                    "R": r, "G": g, "B": b, "saturation": hsv[..., 1].mean(), "value": hsv[..., 2].mean()})
    return pd.DataFrame(out), hue
