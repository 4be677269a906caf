"""Shared logic of the photo-restoration notebook series (DACON 236420 format).

Modules:
    images       read/validate/write images (clear errors naming the file, atomic writes)
    dacon_data   the competition's folder layout: CSVs, paths, lost-region masks
    damage       the lost-region shapes and fill values of the competition's inputs
    sample_data  builds a DACON-format dataset from the embedded photos
    metrics      the exact DACON score (S, M, C)
    score        command line: score a folder of predictions
    viz          picture grids for notebooks and the README
"""
from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTOS_DIR = REPO_ROOT / "data" / "photos"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
