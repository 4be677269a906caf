"""Picture grids for the notebooks and the README."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from helpers.data.dacon import load_pair, lost_region_mask


def image_grid(rows: list[list[np.ndarray]], col_titles: list[str] | None = None,
               row_titles: list[str] | None = None, cell: float = 2.6):
    """A figure with one image per cell (2-D arrays shown in gray, 0..255)."""
    n_rows, n_cols = len(rows), len(rows[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * n_rows), squeeze=False)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            ax = axes[r][c]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and col_titles:
                ax.set_title(col_titles[c], fontsize=10)
            if c == 0 and row_titles:
                ax.set_ylabel(row_titles[r], fontsize=9)
    fig.tight_layout()
    return fig


def dataset_examples(root, names: list[str], split: str = "train"):
    """Input / truth / lost-region mask for some images of a DACON-format folder."""
    root = Path(root)
    rows = []
    for name in names:
        inp, gt = load_pair(root / f"{split}_input" / name, root / f"{split}_gt" / name)
        rows.append([inp, gt, lost_region_mask(inp, gt).astype(np.uint8) * 255])
    return image_grid(rows, ["input (gray, damaged)", "truth (RGB)", "lost region"], names)
