"""Hostile, huge and odd images: each is named with its problem and the rest of the folder goes on."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from helpers.core.images import ImageFileError, MAX_PIXELS, open_image, save_png, to_gray8
from helpers.pipeline import folder as predict_module
from helpers.pipeline.folder import restore_folder, scan_inputs
from helpers.predict import main as predict


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming width x height pixels (a decompression bomb is refused from it alone)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1) * 8, 9))
            + chunk(b"IEND", b""))


def test_decompression_bombs_are_refused_by_name_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(bomb_png(30000, 30000))  # PIL's own limit trips first
    (tmp_path / "big.png").write_bytes(bomb_png(11000, 11000))  # ours: 121 MP
    for name in ("bomb.png", "big.png"):
        with pytest.raises(ImageFileError, match=rf"{name}: .*over the limit of 120 megapixels"):
            open_image(tmp_path / name)
    assert MAX_PIXELS == 120_000_000


def test_a_bomb_among_good_photos_fails_alone(tiny_runs, tmp_path, capsys):
    src = tmp_path / "in"
    rng = np.random.default_rng(0)
    save_png(rng.integers(0, 256, (64, 64)).astype(np.uint8), src / "a_good.png")
    (src / "b_bomb.png").write_bytes(bomb_png(30000, 30000))
    save_png(rng.integers(0, 256, (64, 80)).astype(np.uint8), src / "c_good.png")
    code = predict(["--input-dir", str(src), "--output-dir", str(tmp_path / "out"), "--run", str(tiny_runs / "gan"),
                    "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_good.png", "c_good.png"]
    assert "FAILED b_bomb.png:" in captured.err and "megapixels" in captured.err


def test_memory_and_decoder_errors_while_reading_fail_one_file(tmp_path, monkeypatch):
    src = tmp_path / "in"
    for name in ("a", "b", "c"):
        save_png(np.full((32, 32), 50, np.uint8), src / f"{name}.png")
    real = predict_module.read_input

    def flaky(path, convert=False):
        if path.name == "a.png":
            raise MemoryError
        if path.name == "b.png":
            raise RuntimeError("decoder exploded")
        return real(path, convert)
    monkeypatch.setattr(predict_module, "read_input", flaky)

    class Echo:
        def restore(self, gray):
            return np.repeat(gray[..., None], 3, -1), gray > 0
    for io_threads in (0, 2):
        report = restore_folder(Echo(), sorted(src.iterdir()), tmp_path / f"out{io_threads}", progress=False,
                                io_threads=io_threads)
        assert report.restored == ["c.png"]
        assert report.failed == {"a.png": "not enough memory to read it",
                                 "b.png": "could not be read (RuntimeError: decoder exploded)"}


def test_dangling_links_and_subfolders_are_reported(tmp_path, tiny_runs, capsys):
    src = tmp_path / "in"
    save_png(np.full((32, 32), 50, np.uint8), src / "ok.png")
    (src / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (src / "loop.png").symlink_to(src / "loop.png")
    (src / "more_scans").mkdir()
    save_png(np.full((32, 32), 50, np.uint8), src / "more_scans" / "deep.png")
    listing = scan_inputs(src)
    assert [p.name for p in listing.files] == ["ok.png"] and listing.subfolders == ["more_scans"]
    code = predict(["--input-dir", str(src), "--output-dir", str(tmp_path / "out"), "--run", str(tiny_runs / "gan"),
                    "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAILED gone.png: broken symbolic link" in err
    assert "FAILED loop.png: symbolic link loop" in err  # was called a broken link
    assert "1 subfolder(s) not searched (more_scans)" in out
    assert "restored 1 of 3 images" in out


def test_a_large_folder_is_listed_and_clashes_still_found(tmp_path):
    """20,000 files (the clash check counts names once instead of once per file: 3.7 s -> 0.1 s)."""
    src = tmp_path / "many"
    src.mkdir()
    for i in range(20000):
        (src / f"img_{i:05d}.png").touch()
    assert len(scan_inputs(src).files) == 20000
    (src / "img_00042.jpg").touch()
    with pytest.raises(ValueError, match=r"several files would be written as img_00042\.png"):
        scan_inputs(src)


# --- --convert keeps brightness ----------------------------------------------------------------

@pytest.mark.parametrize("array, mode, expected", [
    (np.array([[0, 4095, 2048]], np.uint16), "I;16", [0, 255, 128]),  # 12-bit data fills 0..255
    (np.array([[0, 65535, 32768]], np.uint16), "I;16", [0, 255, 128]),  # full 16-bit
    (np.array([[0, 1023, 512]], np.int32), "I", [0, 255, 128]),  # 10-bit in a 32-bit image
    (np.array([[0, 200, 100]], np.int32), "I", [0, 200, 100]),  # 8-bit values in a 32-bit image
    (np.array([[0.0, 1.0, 0.5]], np.float32), "F", [0, 255, 128]),  # float 0..1
    (np.array([[0.0, 255.0, 100.0]], np.float32), "F", [0, 255, 100]),  # float 0..255
])
def test_convert_scales_deep_and_float_images_by_their_range(array, mode, expected):
    im = Image.fromarray(array)
    assert im.mode == mode
    assert to_gray8(im, "x.tif").tolist() == [expected]


@pytest.mark.parametrize("array, problem", [
    (np.array([[-5, 100]], np.int32), "negative values"),
    (np.array([[0.0, 1e6]], np.float32), "neither 0..1 nor 0..255"),
    (np.array([[0.0, np.nan]], np.float32), "NaN or infinite"),
])
def test_convert_refuses_what_it_cannot_scale(array, problem):
    with pytest.raises(ImageFileError, match=problem):
        to_gray8(Image.fromarray(array), "odd.tif")


def test_convert_through_the_cli_keeps_a_12_bit_scan_bright(tiny_runs, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    scan = np.full((64, 64), 3000, np.uint16)  # a 12-bit scan, bright
    Image.fromarray(scan).save(src / "scan.png")
    Image.fromarray(np.full((64, 64), 0.8, np.float32)).save(src / "float.tif")
    assert predict(["--input-dir", str(src), "--output-dir", str(tmp_path / "out"), "--run", str(tiny_runs / "gan"),
                    "--convert", "--quiet"]) == 0
    for name in ("scan.png", "float.png"):
        rgb = np.asarray(Image.open(tmp_path / "out" / name))
        assert rgb.mean() > 150, name  # not blacked out (0) or dimmed to 0..15


def test_phone_photos_come_out_upright_and_animations_give_their_first_frame(tiny_runs, tmp_path, capsys):
    """A JPEG stored sideways with EXIF orientation 6 (as phones write them) is restored as it is
    shown, an animated GIF and a multi-page TIFF as their first frame, each with a note."""
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    stored = Image.new("L", (256, 128), 90)
    stored.paste(200, (0, 0, 64, 128))  # a bright band on the stored image's left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    stored.save(src / "phone.jpg", exif=exif, quality=95)
    frames = [Image.new("L", (96, 64), v) for v in (40, 200, 120)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    frames[0].save(src / "pages.tif", save_all=True, append_images=frames[1:])
    code = predict(["--input-dir", str(src), "--output-dir", str(tmp_path / "out"), "--run", str(tiny_runs / "gan"),
                    "--quiet", "--convert"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = np.asarray(Image.open(tmp_path / "out" / "phone.png").convert("L"), np.float64)
    assert shown.shape == (256, 128)  # as shown: 128 wide, 256 tall (it came out 256x128 before)
    assert shown[:64].mean() > shown[-64:].mean() + 40  # the band is now on top
    assert "note phone.jpg: turned upright by its EXIF orientation 6 (restored as 128x256)" in out
    assert "note anim.gif: has 3 frames (an animation or pages): the first is restored" in out
    assert "note pages.tif: has 3 frames" in out
    assert "restored 3 of 3 images" in out
