import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for reference_score
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline: fail an ImageNet download at once, not after retries
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# training datasets cache their decoded images (helpers.training.data_cache): in this run's temp folder, not runs/
if "DACON_CACHE_DIR" not in os.environ:
    os.environ["DACON_CACHE_DIR"] = tempfile.mkdtemp(prefix="dacon-cache-")
    atexit.register(shutil.rmtree, os.environ["DACON_CACHE_DIR"], True)
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # this process draws off screen; the notebooks' kernels keep their inline figures

from helpers.data.synthetic import build  # noqa: E402
from helpers.data.splits import write_split  # noqa: E402
from helpers.training.launch import train  # noqa: E402

SMALL = dict(n_train=24, n_test=8, seed=123)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A small DACON-format dataset built from the embedded photos (shared, read-only)."""
    return build(tmp_path_factory.mktemp("ds") / "sample", **SMALL, progress=False)


# Tiny but real training runs (random-init resnet18 at 64 px), shared by the tests.
TINY_MASK = dict(run="mask", encoder_name="resnet18", encoder_weights=None, image_size=64, batch_size=4,
                 epochs=2, checkpoint_every=1, num_workers=0, val_limit=0)
TINY_INPAINTER = dict(run="inpainter", encoder_name="resnet18", encoder_weights=None, crop_size=64,
                      samples_per_epoch=16, batch_size=4, epochs=2, checkpoint_every=1, num_workers=0, val_limit=3)
TINY_GAN = dict(run="gan", encoder_name="resnet18", encoder_weights=None, output="ycbcr", mask_input=True,
                chroma="regress", prefill=False, region_luma="generator", ema=0.0, inpainter_run="",
                image_size=64, batch_size=4, epochs=4, checkpoint_every=3, num_workers=0, val_limit=3)


@pytest.fixture(scope="session")
def split_dataset(small_dataset, tmp_path_factory):
    dst = tmp_path_factory.mktemp("runs") / "ds"
    shutil.copytree(small_dataset, dst)
    write_split(dst, val_frac=0.25, seed=0)
    return dst


@pytest.fixture(scope="session")
def tiny_runs(split_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("ck")
    train("mask", TINY_MASK, split_dataset, root, progress=False)
    train("inpainter", TINY_INPAINTER, split_dataset, root, progress=False)
    train("gan", {**TINY_GAN, "inpainter_run": "inpainter"}, split_dataset, root, progress=False)
    return root
