"""Colour photos as a source of training images: listing a folder, loading one upright, random crops.

The embedded sample dataset (helpers.data.synthetic) and the inpainter's extra photos
(helpers.training.datasets.InpaintingCrops) draw their 512x512 images this way.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

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

