"""python -m helpers.score: same numbers as the independent implementation; clear errors."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import reference_score as ref


def run_score(*args):
    return subprocess.run([sys.executable, "-m", "helpers.score", "--quiet", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture
def predictions(small_dataset, tmp_path):
    """A folder of imperfect predictions: the truth, blurred and with its colours dulled."""
    out = tmp_path / "pred"
    out.mkdir()
    for p in sorted((small_dataset / "test_gt").glob("*.png")):
        gt = np.asarray(Image.open(p)).astype(np.float64)
        dull = gt * 0.6 + gt.mean(axis=2, keepdims=True) * 0.4
        Image.fromarray(np.clip(dull + 8, 0, 255).astype(np.uint8)).save(out / p.name)
    return out


def test_cli_matches_independent_implementation(small_dataset, predictions, tmp_path):
    res = run_score("--pred", predictions, "--gt", small_dataset / "test_gt",
                    "--input", small_dataset / "test_input", "--json", tmp_path / "s.json",
                    "--csv", tmp_path / "s.csv")
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    rows = {r["name"]: r for r in report["images"]}
    assert len(rows) == 8
    means = {k: [] for k in ("S", "M", "C")}
    for name, row in rows.items():
        gt = np.asarray(Image.open(small_dataset / "test_gt" / name))
        inp = np.asarray(Image.open(small_dataset / "test_input" / name))
        pred = np.asarray(Image.open(predictions / name))
        expected = ref.score(gt, pred, inp)
        for k in means:
            assert row[k] == pytest.approx(expected[k], abs=1e-6), (name, k)
            means[k].append(expected[k])
    summary = report["summary"]
    for k in means:
        assert summary[k] == pytest.approx(np.mean(means[k]), abs=1e-6)
    assert summary["score"] == pytest.approx(
        0.2 * summary["S"] + 0.4 * summary["M"] + 0.4 * summary["C"], abs=1e-12)
    assert f"Score {summary['score']:.4f}" in res.stdout
    assert (tmp_path / "s.csv").read_text().startswith("name,S,M,C,score")


def test_missing_prediction_is_named(small_dataset, predictions):
    (predictions / "TEST_003.png").unlink()
    res = run_score("--pred", predictions, "--gt", small_dataset / "test_gt",
                    "--input", small_dataset / "test_input")
    assert res.returncode == 2
    assert "TEST_003.png: file not found" in res.stderr
    assert "Score" not in res.stdout


def test_mis_sized_and_corrupt_predictions_are_named(small_dataset, predictions):
    Image.new("RGB", (256, 256)).save(predictions / "TEST_001.png")
    (predictions / "TEST_002.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    res = run_score("--pred", predictions, "--gt", small_dataset / "test_gt",
                    "--input", small_dataset / "test_input")
    assert res.returncode == 2
    assert "TEST_001.png: size is 256x256, expected 512x512" in res.stderr
    assert "TEST_002.png: not a readable image" in res.stderr


def test_gray_predictions_are_read_as_rgb(small_dataset, tmp_path):
    pred = tmp_path / "gray"
    shutil.copytree(small_dataset / "test_input", pred)  # mode L, like cv2.imread would widen
    res = run_score("--pred", pred, "--gt", small_dataset / "test_gt", "--input", small_dataset / "test_input")
    assert res.returncode == 0, res.stderr
    assert "8 images" in res.stdout


def test_empty_input_folder(tmp_path):
    for d in ("p", "g", "i"):
        (tmp_path / d).mkdir()
    res = run_score("--pred", tmp_path / "p", "--gt", tmp_path / "g", "--input", tmp_path / "i")
    assert res.returncode == 2 and "no .png inputs" in res.stderr


def test_constant_prediction_is_named_not_scored_as_nan(small_dataset, tmp_path):
    """data_range = 0: the competition's SSIM divides by zero; the file is named, exit 2, no NaN."""
    pred = tmp_path / "pred"
    shutil.copytree(small_dataset / "test_gt", pred)
    Image.new("RGB", (512, 512), (90, 90, 90)).save(pred / "TEST_004.png")
    res = run_score("--pred", pred, "--gt", small_dataset / "test_gt", "--input", small_dataset / "test_input",
                    "--json", tmp_path / "s.json")
    assert res.returncode == 2
    assert "TEST_004.png: " in res.stderr and "undefined" in res.stderr and "data_range" in res.stderr
    assert "nan" not in res.stdout.lower() and not (tmp_path / "s.json").exists()


def test_defined_values_of_a_constant_prediction_are_kept(tmp_path):
    """Where the formula is defined (no flat window in the truth) its value stands, as the competition's."""
    from helpers.scoring.metrics import UndefinedScore, score_image
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:20, 10:20] = True
    s = score_image(gt, np.full_like(gt, 100), mask)
    assert abs(s.S) < 1e-9 and abs(s.M) < 1e-9 and np.isfinite(s.C)
    gt[:32] = 50  # flat truth windows: 0/0
    with pytest.raises(UndefinedScore, match="data_range = max - min = 0"):
        score_image(gt, np.full_like(gt, 100), mask)


def test_json_is_strict_and_upper_case_png_inputs_count(small_dataset, tmp_path, predictions):
    inp = tmp_path / "inp"
    shutil.copytree(small_dataset / "test_input", inp)
    (inp / "TEST_001.png").rename(inp / "TEST_001.PNG")
    gt, pred = tmp_path / "gt", tmp_path / "pred2"
    shutil.copytree(small_dataset / "test_gt", gt)
    shutil.copytree(predictions, pred)
    (gt / "TEST_001.png").rename(gt / "TEST_001.PNG")  # the prediction keeps .png, as predict writes it
    res = run_score("--pred", pred, "--gt", gt, "--input", inp, "--json", tmp_path / "s.json")
    assert res.returncode == 0, res.stderr
    assert "8 images" in res.stdout
    json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))


def test_input_without_a_lost_region_is_named(small_dataset, tmp_path):
    inp = tmp_path / "inp"
    shutil.copytree(small_dataset / "test_input", inp)
    gray = Image.open(small_dataset / "test_gt" / "TEST_002.png").convert("L")
    gray.save(inp / "TEST_002.png")  # the truth's own gray: nothing lost
    res = run_score("--pred", small_dataset / "test_gt", "--gt", small_dataset / "test_gt", "--input", inp)
    assert res.returncode == 2
    assert "TEST_002.png: lost region has 0 pixels" in res.stderr


def test_json_holds_null_for_a_truth_without_colour(small_dataset, tmp_path, predictions):
    """A black-and-white truth has no coloured pixels, so its hue error is undefined: null in the
    JSON (it was NaN, which strict JSON refuses, and the command crashed after scoring)."""
    gt = tmp_path / "gt"
    shutil.copytree(small_dataset / "test_gt", gt)
    Image.open(gt / "TEST_001.png").convert("L").convert("RGB").save(gt / "TEST_001.png")
    res = run_score("--pred", predictions, "--gt", gt, "--input", small_dataset / "test_input",
                    "--json", tmp_path / "s.json")
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict: {c}"))
    rows = {r["name"]: r for r in report["images"]}
    assert rows["TEST_001.png"]["hue_err"] is None and rows["TEST_002.png"]["hue_err"] is not None
