import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for reference_score

from helpers.sample_data import build  # noqa: E402

SMALL = dict(n_train=24, n_test=8, seed=123)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A small DACON-format dataset built from the embedded photos (shared, read-only)."""
    return build(tmp_path_factory.mktemp("ds") / "sample", **SMALL, progress=False)
