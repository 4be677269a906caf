"""Statistics for data exploration, computed from the images (so they hold for DACON data too)."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from scipy import ndimage
from tqdm.auto import tqdm

from .dacon_data import IMAGE_SIZE, load_pair, lost_region_mask
from .images import read_rgb


def damage_stats(rows: pd.DataFrame, progress: bool = True) -> pd.DataFrame:
    """Per training pair: lost area (fraction), fill value, number of separate regions."""
    out = []
    for inp_path, gt_path in tqdm(zip(rows.input_image_path_abs, rows.gt_image_path_abs),
                                  total=len(rows), desc="damage statistics", disable=not progress):
        inp, gt = load_pair(inp_path, gt_path, IMAGE_SIZE)
        mask = lost_region_mask(inp, gt)
        values, counts = np.unique(inp[mask], return_counts=True)
        out.append({"name": inp_path.rsplit("/", 1)[-1], "area_frac": float(mask.mean()),
                    "fill": int(values[counts.argmax()]) if len(values) else -1,
                    "fill_values": len(values),
                    "regions": int(ndimage.label(mask, structure=np.ones((3, 3)))[1])})
    return pd.DataFrame(out)


def colour_stats(rows: pd.DataFrame, progress: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """(per image mean R, G, B, saturation and brightness; summed 180-bin hue histogram)."""
    stats, hue = [], np.zeros(180)
    for gt_path in tqdm(rows.gt_image_path_abs, desc="colour statistics", disable=not progress):
        gt = read_rgb(gt_path, IMAGE_SIZE)
        hsv = cv2.cvtColor(gt, cv2.COLOR_RGB2HSV)
        hue += np.bincount(hsv[..., 0].ravel(), minlength=180)[:180]
        r, g, b = gt.reshape(-1, 3).mean(0)
        stats.append({"R": r, "G": g, "B": b, "saturation": hsv[..., 1].mean(), "value": hsv[..., 2].mean()})
    return pd.DataFrame(stats), hue
