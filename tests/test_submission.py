"""The submission zip: complete, flat, RGB 512x512 PNGs, or a clear refusal."""
import zipfile

import numpy as np
import pytest

from helpers.core.images import save_png
from helpers.scoring.submission import SubmissionError, validate_zip, write_zip

NAMES = ["TEST_000.png", "TEST_001.png", "TEST_002.png"]


def predictions(folder, names=NAMES):
    for n in names:
        save_png(np.full((512, 512, 3), 100, np.uint8), folder / n)
    return folder


def test_complete_submission_is_written_flat_and_validates(tmp_path):
    pred = predictions(tmp_path / "png")
    z = write_zip(pred, tmp_path / "submission.zip", NAMES)
    assert sorted(zipfile.ZipFile(z).namelist()) == NAMES
    assert validate_zip(z, NAMES)["files"] == 3


def test_incomplete_submission_is_refused_unless_allowed(tmp_path):
    pred = predictions(tmp_path / "png", NAMES[:2])
    save_png(np.zeros((256, 256, 3), np.uint8), pred / "TEST_002.png")  # wrong size
    with pytest.raises(SubmissionError, match=r"TEST_002.png: size is 256x256"):
        write_zip(pred, tmp_path / "s.zip", NAMES)
    (pred / "TEST_002.png").unlink()
    with pytest.raises(SubmissionError, match=r"1 of 3 predictions missing \(TEST_002.png\)"):
        write_zip(pred, tmp_path / "s.zip", NAMES)
    assert not (tmp_path / "s.zip").exists()
    z = write_zip(pred, tmp_path / "s.zip", NAMES, allow_incomplete=True)
    with pytest.raises(SubmissionError, match="1 expected file"):
        validate_zip(z, NAMES)


def test_validation_catches_folders_modes_and_extras(tmp_path):
    pred = predictions(tmp_path / "png")
    save_png(np.zeros((512, 512), np.uint8), tmp_path / "gray.png")
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(pred / NAMES[0], arcname="sub/" + NAMES[0])
        zf.write(tmp_path / "gray.png", arcname=NAMES[1])
        zf.write(pred / NAMES[2], arcname=NAMES[2])
        zf.writestr("notes.txt", "hello")
    with pytest.raises(SubmissionError) as e:
        validate_zip(z, NAMES)
    msg = str(e.value)
    assert "inside folders" in msg and "TEST_001.png: PNG L" in msg and "unexpected" in msg
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        validate_zip(tmp_path / "junk.zip", NAMES)


def test_duplicate_entries_are_refused(tmp_path):
    pred = predictions(tmp_path / "png")
    z = tmp_path / "dup.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for n in NAMES:
            zf.write(pred / n, arcname=n)
        with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile lets it through
            zf.write(pred / NAMES[0], arcname=NAMES[0])
    with pytest.raises(SubmissionError, match=r"duplicate entries, ignoring case \(TEST_000\.png\)"):
        validate_zip(z, NAMES)


@pytest.mark.parametrize("bad", ["../TEST_000.png", "/tmp/TEST_000.png", "sub/TEST_000.png", "..", "notes.txt",
                                 "C:TEST.png"])
def test_unsafe_or_non_png_names_are_refused_before_writing(tmp_path, bad):
    pred = predictions(tmp_path / "png")
    with pytest.raises(SubmissionError, match="refused to write"):
        write_zip(pred, tmp_path / "s.zip", NAMES + [bad])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["png"]  # nothing written, no temporary file


def test_a_jpeg_named_png_is_refused_and_leaves_nothing(tmp_path):
    from PIL import Image
    pred = predictions(tmp_path / "png")
    Image.new("RGB", (512, 512)).save(pred / "TEST_001.png", format="JPEG")
    with pytest.raises(SubmissionError, match=r"TEST_001\.png: is a JPEG file, not a PNG"):
        write_zip(pred, tmp_path / "s.zip", NAMES)
    assert not (tmp_path / "s.zip").exists() and not list(tmp_path.glob(".*"))


def test_duplicate_expected_names_are_refused(tmp_path):
    pred = predictions(tmp_path / "png")
    with pytest.raises(SubmissionError, match="duplicate name"):
        write_zip(pred, tmp_path / "s.zip", NAMES + NAMES[:1])
    assert not (tmp_path / "s.zip").exists()


def test_names_differing_only_in_case_are_one_file(tmp_path):
    """x.PNG and x.png are the same file on Windows and macOS, and a grader reads either."""
    pred = predictions(tmp_path / "png")
    z = tmp_path / "case.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for n in NAMES:
            zf.write(pred / n, arcname=n)
        zf.write(pred / NAMES[0], arcname=NAMES[0].replace(".png", ".PNG"))
    with pytest.raises(SubmissionError, match=r"duplicate entries, ignoring case \(TEST_000\.PNG, TEST_000\.png\)"):
        validate_zip(z, NAMES)
    with pytest.raises(SubmissionError, match="duplicate name"):
        write_zip(pred, tmp_path / "s.zip", NAMES + ["TEST_000.PNG"])


def test_a_crafted_zip_is_refused_after_reading_little(tmp_path, monkeypatch):
    """A 2 GiB entry (unexpected or under an expected name) is not read, and an expected entry
    holding a 15000x15000 PNG is a submission error from its header, not a DecompressionBombError:
    this zip took 16 s and 4.2 GB before."""
    import struct
    import zlib

    pred = predictions(tmp_path / "png")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def png_header(width, height):  # a PNG of that size (RGB, 8 bit) whose pixel data stops early
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(10000))) + chunk(b"IEND", b""))

    z = tmp_path / "crafted.zip"
    zero = bytes(64 << 20)
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(pred / NAMES[0], arcname=NAMES[0])
        zf.writestr(NAMES[1], png_header(15000, 15000) + bytes(1000))
        for name in ("huge.bin", NAMES[2]):
            with zf.open(name, "w", force_zip64=True) as f:
                for _ in range(32):  # 2 GiB of zeros, about 2 MB compressed
                    f.write(zero)
    assert z.stat().st_size < 10 << 20
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(
        getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    with pytest.raises(SubmissionError) as refused:
        validate_zip(z, NAMES)
    message = str(refused.value)
    assert "1 unexpected file(s) (huge.bin), not read" in message
    assert "TEST_001.png: an image too large to decode (Image size (225000000 pixels) exceeds limit" in message
    assert f"TEST_002.png: {2 << 30:,} bytes, more than a 512x512 PNG can hold; not read" in message
    assert sorted(opened) == NAMES[:2]  # neither 2 GiB entry was read at all
