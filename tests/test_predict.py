"""python -m helpers.predict over good and bad folders: what is restored, what is reported, exit codes."""
import numpy as np
from PIL import Image

from helpers.core.images import save_png
from helpers.predict import main


def bad_and_good_folder(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    save_png(rng.integers(0, 256, (512, 512)).astype(np.uint8), folder / "good_512.png")
    Image.fromarray(rng.integers(0, 256, (300, 200)).astype(np.uint8)).save(folder / "small.jpg")
    save_png(rng.integers(0, 256, (512, 512, 3)).astype(np.uint8), folder / "colour.png")
    (folder / "empty.png").write_bytes(b"")
    good = (folder / "good_512.png").read_bytes()
    (folder / "corrupt.png").write_bytes(good[: len(good) // 3])
    (folder / "notes.txt").write_text("not an image, ignored")
    return folder


def test_bad_images_are_reported_and_the_rest_restored(tiny_runs, tmp_path, capsys):
    src = bad_and_good_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["--input-dir", str(src), "--output-dir", str(out), "--run", str(tiny_runs / "gan"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["good_512.png", "small.png"]
    assert Image.open(out / "small.png").size == (200, 300) and Image.open(out / "small.png").mode == "RGB"
    assert Image.open(out / "good_512.png").size == (512, 512)
    assert "restored 2 of 5 images" in captured.out
    assert "FAILED colour.png: mode is RGB, expected L" in captured.err
    assert "FAILED empty.png: file is empty" in captured.err
    assert "FAILED corrupt.png: not a readable image" in captured.err


def test_convert_accepts_colour_images(tiny_runs, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    save_png(np.zeros((64, 96, 3), np.uint8), src / "colour.png")
    code = main(["--input-dir", str(src), "--output-dir", str(tmp_path / "out"),
                 "--run", str(tiny_runs / "gan"), "--convert", "--quiet"])
    assert code == 0 and Image.open(tmp_path / "out" / "colour.png").size == (96, 64)


def test_missing_or_empty_folder_or_model_exit_2(tiny_runs, tmp_path, capsys):
    run = ["--run", str(tiny_runs / "gan")]
    assert main(["--input-dir", str(tmp_path / "nope"), "--output-dir", str(tmp_path / "o")] + run) == 2
    assert "input folder does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")] + run) == 2
    assert "no image files" in capsys.readouterr().err
    src = bad_and_good_folder(tmp_path / "in")
    assert main(["--input-dir", str(src), "--output-dir", str(tmp_path / "o"), "--run", str(tmp_path)]) == 2
    assert "no trained pipeline here" in capsys.readouterr().err
    (tmp_path / "x.jpg").write_bytes(b"")
    (tmp_path / "in" / "good_512.jpg").write_bytes(b"")
    assert main(["--input-dir", str(src), "--output-dir", str(tmp_path / "o")] + run) == 2
    assert "would be written as good_512.png" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
