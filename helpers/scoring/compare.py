"""Is one model better than another on the same images? A paired difference with a bootstrap over photos.

Crops of one photo share its colours, so they are not independent evidence: a split of
82 crops of 22 photos holds 22 pieces of evidence, not 82. The difference is therefore
taken image by image (both models restored the same inputs), averaged within each source
photo, and then over photos (every photo weighs the same); its uncertainty comes from
resampling the photos with replacement (a percentile bootstrap). When the source photo of
an image is unknown, each image is its own group.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("score", "S", "M", "C")


def photo_differences(base: pd.DataFrame, candidate: pd.DataFrame, groups: pd.Series | None = None,
                      metric: str = "score") -> pd.Series:
    """candidate minus base of one metric, per group (photo); both tables from score_folders.

    groups maps an image name to its photo (missing names: the image is its own group)."""
    a, b = base.set_index("name")[metric], candidate.set_index("name")[metric]
    if set(a.index) != set(b.index):
        only = sorted(set(a.index) ^ set(b.index))
        raise ValueError(f"the two tables score different images (e.g. {only[0]!r}); restore the same inputs")
    diff = (b - a.reindex(b.index)).rename(metric)
    photo = pd.Series(diff.index, index=diff.index)
    if groups is not None:
        photo = photo.map(groups).fillna(photo)
    return diff.groupby(photo.to_numpy()).mean()


def bootstrap(per_photo: pd.Series, resamples: int = 10_000, level: float = 0.95, seed: int = 0) -> dict:
    """Mean of the per-photo differences and its percentile interval, photos resampled with replacement."""
    values = per_photo.to_numpy(float)
    if values.size == 0:
        raise ValueError("no photos to compare")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {"difference": float(values.mean()), "low": float(low), "high": float(high),
            "photos": int(values.size), "higher": int((values > 0).sum()), "lower": int((values < 0).sum())}


def compare(base: pd.DataFrame, candidate: pd.DataFrame, groups: pd.Series | None = None,
            metrics=METRICS, **kw) -> pd.DataFrame:
    """One row per metric: the candidate's per-photo mean difference from base with its interval."""
    return pd.DataFrame([{"metric": m, **bootstrap(photo_differences(base, candidate, groups, m), **kw)}
                         for m in metrics])
