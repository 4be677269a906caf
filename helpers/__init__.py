"""Shared code of the photo-restoration notebook series (DACON 236420 format).

Six layers, each a sub-package that imports only from itself and the layers above it in
this list (tests/test_layout.py checks it):
    core       settings, files, images, platforms and run folders      (no torch)
    data       the DACON dataset: layout, reading, split, synthetic     (no torch)
    scoring    the competition's score and the submission zip          (no torch)
    networks   the U-Nets and discriminator, devices, tensors, tiling
    pipeline   restoration at inference: mask, fill, colour, model files
    training   one way into training (training.launch.train), its loop and stages
The modules at this top level are the commands (`python -m helpers.NAME`: predict, score,
sample_data, pretrained, launch, sweep, app); they may use every layer and no layer uses them.
"""
from pathlib import Path

__version__ = "0.3.0"

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTOS_DIR = REPO_ROOT / "data" / "photos"
EXTRA_PHOTOS_DIR = REPO_ROOT / "data" / "photos_extra"  # training-only photos
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
