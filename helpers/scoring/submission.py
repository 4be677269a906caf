"""The DACON submission: restored test images packed flat into a zip, and its validation.

DACON expects one RGB 512x512 PNG per row of test.csv, named like the input
(TEST_000.png), at the top level of the zip. `write_zip` refuses an incomplete or
malformed set unless told otherwise; `validate_zip` re-reads the written archive.
"""
from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

from PIL import Image

from helpers.core.files import atomic_write
from helpers.core.images import ImageFileError, read_rgb
from helpers.data.layout import IMAGE_SIZE


class SubmissionError(ValueError):
    """The predictions or the zip do not make a valid submission (says which files and why)."""


def expected_names(test_rows) -> list[str]:
    return [Path(p).name for p in test_rows["input_image_path"]]


def _listing(names, limit: int = 5) -> str:
    names = sorted(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_names(names: list[str]) -> None:
    """Each name must be a plain, unique PNG file name (no folder, no '..', no absolute path)."""
    problems = []
    for n in names:
        if not n or n != Path(n).name or n in (".", "..") or "\\" in n or ":" in n:
            problems.append(f"{n!r} is not a plain file name (no folders, '..', drive or absolute paths)")
        elif not n.lower().endswith(".png"):
            problems.append(f"{n!r} is not a .png name")
    if dup := _duplicates(names):
        problems.append(f"duplicate name(s), ignoring case: {_listing(dup)}")
    if problems:
        raise SubmissionError("refused to write the submission: " + "; ".join(problems))


def _duplicates(names) -> list[str]:
    """Names that occur more than once, ignoring case (x.PNG and x.png are one file on Windows and
    macOS, and a grader may read either)."""
    counts = Counter(n.casefold() for n in names)
    return sorted(n for n in set(names) if counts[n.casefold()] > 1)


def _check_png(path: Path) -> str | None:
    """What is wrong with one prediction file as a DACON submission entry (None: nothing)."""
    try:
        with Image.open(path) as im:
            fmt = im.format
    except (OSError, SyntaxError) as e:
        return f"not a readable image ({e})"
    if fmt != "PNG":
        return f"is a {fmt} file, not a PNG"
    try:
        read_rgb(path, IMAGE_SIZE)
    except ImageFileError as e:
        return e.problem
    return None


def write_zip(pred_dir, zip_path, names: list[str], allow_incomplete: bool = False) -> Path:
    """Pack pred_dir/<name> for each expected name into zip_path, flat.

    Names and files are checked before anything is written: plain unique .png names, each
    file a readable RGB 512x512 PNG. An incomplete set is refused unless allowed. The
    archive is written to a temporary file and validated (validate_zip) before it is
    renamed into place, so a rejected zip leaves nothing behind.
    """
    pred_dir = Path(pred_dir)
    check_names(names)
    missing = [n for n in names if not (pred_dir / n).is_file()]
    bad = {n: p for n in names if n not in missing and (p := _check_png(pred_dir / n)) is not None}
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
        try:
            validate_zip(tmp, keep)
        except SubmissionError as e:  # atomic_write removes the temporary file; name the real target
            raise SubmissionError(str(e).replace(str(tmp), str(zip_path))) from None
    return atomic_write(zip_path, write)


# A 512x512 RGB PNG holds at most 786,432 bytes of pixels (and a few bytes a row and chunk);
# an entry declared larger, or expanding more than that on reading, is not a prediction.
MAX_ENTRY_BYTES = 2 << 20
MAX_EXTRA_ENTRIES = 1000  # beyond the expected names: a directory that large is refused unread


def validate_zip(zip_path, names: list[str]) -> dict:
    """Check a submission zip: flat, one PNG per expected name, each RGB 512x512. Raises SubmissionError.

    Only the zip's directory is trusted to decide what to read: names and sizes are checked
    there, only the expected entries are read, each at most MAX_ENTRY_BYTES (however much it
    claims or expands to), and each image's size is checked from its header before decoding,
    so a crafted zip (a 2 GiB entry in 4 MB, a 15000x15000 PNG) costs little and gets a
    submission error."""
    zip_path = Path(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise SubmissionError(f"{zip_path}: not a readable zip ({e})") from e
    problems = []
    with zf:
        entries = [i for i in zf.infolist() if not i.is_dir()]
        if len(entries) > len(names) + MAX_EXTRA_ENTRIES:
            raise SubmissionError(f"{zip_path}: {len(entries)} entries where {len(names)} are expected; not read")
        members = [i.filename for i in entries]
        nested = [m for m in members if "/" in m or "\\" in m]
        if nested:
            problems.append(f"files inside folders ({_listing(nested)}); DACON wants them flat")
        if dup := _duplicates(members):
            problems.append(f"duplicate entries, ignoring case ({_listing(dup)})")
        flat = {Path(m).name for m in members}
        if missing := set(names) - flat:
            problems.append(f"{len(missing)} expected file(s) missing ({_listing(missing)})")
        if extra := flat - set(names):
            problems.append(f"{len(extra)} unexpected file(s) ({_listing(extra)}), not read")
        expected = set(names)
        for info in sorted({i.filename: i for i in entries if Path(i.filename).name in expected}.values(),
                           key=lambda i: i.filename):
            if (problem := _entry_problem(zf, info)) is not None:
                problems.append(f"{info.filename}: {problem}")
    if problems:
        raise SubmissionError(f"{zip_path}: " + "; ".join(problems))
    return {"zip": str(zip_path), "files": len(members), "bytes": zip_path.stat().st_size}


def _entry_problem(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """What is wrong with one expected entry (None: a PNG RGB 512x512), reading a bounded amount."""
    if info.file_size > MAX_ENTRY_BYTES:
        return f"{info.file_size:,} bytes, more than a {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} PNG can hold; not read"
    try:
        with zf.open(info) as f:
            data = f.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            return f"expands beyond {MAX_ENTRY_BYTES:,} bytes; not read further"
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG" or im.mode != "RGB" or im.size != IMAGE_SIZE:  # the header's, not decoded
                return (f"{im.format} {im.mode} {im.size[0]}x{im.size[1]}, "
                        f"expected PNG RGB {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}")
            im.load()
    except Image.DecompressionBombError as e:
        return f"an image too large to decode ({str(e).split(',')[0]})"
    except (OSError, SyntaxError, ValueError, zipfile.BadZipFile, EOFError) as e:
        return f"unreadable ({e})"
    return None
