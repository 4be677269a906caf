"""The DACON submission: restored test images packed flat into a zip, and its validation.

DACON expects one RGB 512x512 PNG per row of test.csv, named like the input
(TEST_000.png), at the top level of the zip. `write_zip` refuses an incomplete or
malformed set unless told otherwise; `validate_zip` re-reads the written archive.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

from .dacon_data import IMAGE_SIZE
from .images import ImageFileError, atomic_write, read_rgb


class SubmissionError(ValueError):
    """The predictions or the zip do not make a valid submission (says which files and why)."""


def expected_names(test_rows) -> list[str]:
    return [Path(p).name for p in test_rows["input_image_path"]]


def _listing(names, limit: int = 5) -> str:
    names = sorted(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def write_zip(pred_dir, zip_path, names: list[str], allow_incomplete: bool = False) -> Path:
    """Pack pred_dir/<name> for each expected name into zip_path (atomically), checking each PNG."""
    pred_dir = Path(pred_dir)
    missing = [n for n in names if not (pred_dir / n).is_file()]
    bad = {}
    for n in names:
        if n not in missing:
            try:
                read_rgb(pred_dir / n, IMAGE_SIZE)
            except ImageFileError as e:
                bad[n] = e.problem
    if (missing or bad) and not allow_incomplete:
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {len(names)} predictions missing ({_listing(missing)})")
        problems += [f"{n}: {p}" for n, p in sorted(bad.items())]
        raise SubmissionError(f"{pred_dir}: incomplete submission: " + "; ".join(problems)
                              + " (allow_incomplete=True writes the zip anyway)")
    keep = [n for n in names if n not in missing and n not in bad]

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are compressed already
            for n in keep:
                zf.write(pred_dir / n, arcname=n)
    return atomic_write(zip_path, write)


def validate_zip(zip_path, names: list[str]) -> dict:
    """Check a submission zip: flat, one PNG per expected name, each RGB 512x512. Raises SubmissionError."""
    zip_path = Path(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise SubmissionError(f"{zip_path}: not a readable zip ({e})") from e
    problems = []
    with zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        nested = [m for m in members if "/" in m]
        if nested:
            problems.append(f"files inside folders ({_listing(nested)}); DACON wants them flat")
        flat = {Path(m).name for m in members}
        if missing := set(names) - flat:
            problems.append(f"{len(missing)} expected file(s) missing ({_listing(missing)})")
        if extra := flat - set(names):
            problems.append(f"{len(extra)} unexpected file(s) ({_listing(extra)})")
        for m in members:
            try:
                with Image.open(io.BytesIO(zf.read(m))) as im:
                    im.load()
                    if im.format != "PNG" or im.mode != "RGB" or im.size != IMAGE_SIZE:
                        problems.append(f"{m}: {im.format} {im.mode} {im.size[0]}x{im.size[1]}, "
                                        f"expected PNG RGB {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}")
            except (OSError, SyntaxError) as e:
                problems.append(f"{m}: unreadable ({e})")
    if problems:
        raise SubmissionError(f"{zip_path}: " + "; ".join(problems))
    return {"zip": str(zip_path), "files": len(members), "bytes": zip_path.stat().st_size}
