"""The embedded photos: real colour photographs, each credited, within the size budget."""
import re

import numpy as np
from PIL import Image

from helpers import PHOTOS_DIR

PHOTOS = sorted(PHOTOS_DIR.glob("*.jpg"))


def test_count_and_total_size():
    assert 50 <= len(PHOTOS) <= 80
    assert sum(p.stat().st_size for p in PHOTOS) <= 25 * 2**20


def test_every_photo_is_credited_and_every_credit_exists():
    credits = (PHOTOS_DIR / "CREDITS.md").read_text()
    credited = re.findall(r"^\| `([^`]+\.jpg)` \|", credits, flags=re.M)
    assert sorted(credited) == [p.name for p in PHOTOS]
    for line in credits.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert len(cells) == 5 and all(cells), f"incomplete credit: {line}"
            assert cells[2].startswith(("`debian:", "`pypi:")), cells[2]


def test_photos_are_colour_jpegs_at_most_1024px():
    for p in PHOTOS:
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB", p.name
            assert max(im.size) <= 1024 and min(im.size) >= 250, (p.name, im.size)
            sat = np.asarray(im.convert("HSV"))[..., 1].mean()
        assert sat > 15, f"{p.name} looks grayscale (mean saturation {sat:.1f})"
