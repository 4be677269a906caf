"""Colour photos as a source of training images: listing a folder, loading one upright, random crops.

The embedded sample dataset (helpers.data.synthetic) and the inpainter's extra photos
(helpers.training.datasets.InpaintingCrops) draw their 512x512 images this way.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from helpers import EXTRA_PHOTOS_DIR
from helpers.core.images import open_image
from helpers.data.layout import IMAGE_SIZE

PHOTO_EXTS = {".jpg", ".jpeg", ".png"}


MIN_CROP, MAX_CROP = 0.5, 1.0  # crop side as a fraction of the photo's short side
MIN_CROP_PX = 384  # ...but no smaller than this where the photo allows: upscaling blurs texture


def list_photos(photos_dir) -> list[Path]:
    """The photos (.jpg/.jpeg/.png) of a folder's top level, sorted; a FileNotFoundError naming it if none."""
    photos = sorted(p for p in Path(photos_dir).iterdir() if p.suffix.lower() in PHOTO_EXTS)
    if not photos:
        raise FileNotFoundError(f"{photos_dir}: no photos (.jpg/.png) found")
    return photos


@lru_cache(maxsize=64)
def load_photo(path: str) -> Image.Image:
    """A photo upright (EXIF orientation applied) in RGB; cached, since crops are drawn from it repeatedly."""
    return ImageOps.exif_transpose(open_image(path)).convert("RGB")


def random_crop(photo: Image.Image, rng: np.random.Generator, size: int = IMAGE_SIZE[0]):
    """A random square crop resized to size x size: (RGB array, (x0, y0, side, flipped))."""
    w, h = photo.size
    short = min(w, h)
    side = rng.uniform(max(MIN_CROP * short, min(MIN_CROP_PX, short)), MAX_CROP * short)
    x0, y0 = rng.uniform(0, w - side), rng.uniform(0, h - side)
    crop = photo.resize((size, size), Image.Resampling.LANCZOS, box=(x0, y0, x0 + side, y0 + side))
    flipped = bool(rng.random() < 0.5)
    if flipped:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop, dtype=np.uint8), (x0, y0, side, flipped)



def photo_sources(root, rows):
    """The source photo of each of a dataset's `rows` (a Series aligned with them), from the
    dataset's meta.csv (the sample dataset records each image's source); None for a dataset
    without one (DACON's). A ValueError names an image meta.csv does not know."""
    import pandas as pd

    meta_path = Path(root) / "meta.csv"
    if not meta_path.is_file():
        return None
    meta = pd.read_csv(meta_path).set_index("input_image_path")
    missing = sorted(set(rows.input_image_path) - set(meta.index))
    if missing:
        raise ValueError(f"{meta_path}: no source recorded for {missing[0]!r}")
    return rows.input_image_path.map(meta.source)


def photo_kind(photo: str) -> str:
    """Which folder of the sample data a source photo came from: "photos" (everyday photos, the
    kind the sample test split holds) or "photos_extra" (training-only wallpapers, leaves, skies)."""
    return "photos_extra" if (EXTRA_PHOTOS_DIR / photo).is_file() else "photos"


def photo_kinds(root, rows):
    """photo_kind of each of a dataset's `rows` (a Series aligned with them); None for a dataset
    that does not record its images' source photos (DACON's)."""
    sources = photo_sources(root, rows)
    return None if sources is None else sources.map(photo_kind)


def source_photos(root, rows, folders) -> list[Path]:
    """The photos the dataset's `rows` were cut from, sorted: their names from the dataset's meta.csv
    (photo_sources), found in `folders`. A ValueError naming what is missing: a dataset without
    sources (DACON's), or a source in none of the folders."""
    sources = photo_sources(root, rows)
    if sources is None:
        raise ValueError(f"{Path(root) / 'meta.csv'}: not found; new crops need a dataset that names each image's "
                         "source photo (the sample dataset does; DACON's does not)")
    found = []
    for name in sorted(set(sources)):
        path = next((Path(f) / name for f in folders if (Path(f) / name).is_file()), None)
        if path is None:
            raise ValueError(f"source photo {name!r} is in none of {[str(f) for f in folders]}")
        found.append(path)
    return found
