"""Comparing two models photo by photo: per-photo means, a bootstrap over photos, clear refusals."""
import numpy as np
import pandas as pd
import pytest

from helpers.scoring.compare import bootstrap, compare, photo_differences


def table(scores: dict) -> pd.DataFrame:
    return pd.DataFrame([{"name": n, "score": s, "S": s, "M": s, "C": s} for n, s in scores.items()])


def test_differences_are_averaged_within_a_photo_before_across_photos():
    base = table({"a1": 0.5, "a2": 0.5, "a3": 0.5, "b1": 0.5})
    cand = table({"a1": 0.6, "a2": 0.6, "a3": 0.6, "b1": 0.2})
    groups = pd.Series({"a1": "A", "a2": "A", "a3": "A", "b1": "B"})
    per_photo = photo_differences(base, cand, groups)
    assert per_photo.to_dict() == pytest.approx({"A": 0.1, "B": -0.3})
    # by image the candidate would look no worse (mean 0.0); by photo it is worse (mean -0.1)
    assert bootstrap(per_photo)["difference"] == pytest.approx(-0.1)
    # without photos every image is its own group
    assert len(photo_differences(base, cand)) == 4


def test_the_interval_brackets_the_mean_and_excludes_zero_only_for_a_consistent_gain():
    rng = np.random.default_rng(1)
    consistent = pd.Series(0.05 + rng.normal(0, 0.01, 30))
    mixed = pd.Series(rng.normal(0, 0.05, 30))
    c, m = bootstrap(consistent), bootstrap(mixed)
    assert c["low"] < c["difference"] < c["high"] and c["low"] > 0 and c["higher"] == 30
    assert m["low"] < 0 < m["high"]
    assert bootstrap(mixed) == m  # seeded: the same interval every run


def test_tables_of_different_images_are_refused():
    with pytest.raises(ValueError, match="different images"):
        compare(table({"a": 0.5}), table({"b": 0.5}))


def test_the_script_splits_the_difference_by_the_kind_of_source_photo():
    from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR
    from scripts.compare_models import compared
    everyday = sorted(p.name for p in PHOTOS_DIR.glob("*.jpg"))[:2]
    extra = sorted(p.name for p in EXTRA_PHOTOS_DIR.glob("*.jpg"))[:2]
    groups = pd.Series({"a": everyday[0], "b": everyday[1], "c": extra[0], "d": extra[1]})
    base = table({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5})
    cand = table({"a": 0.4, "b": 0.4, "c": 0.7, "d": 0.7})  # worse on everyday photos, better on the extras
    rows = pd.DataFrame(compared("val", "cand", base, cand, groups, 200))
    score = rows[rows.metric == "score"].set_index("photos_of").difference
    assert score.to_dict() == pytest.approx({"all": 0.05, "photos": -0.1, "photos_extra": 0.2})
