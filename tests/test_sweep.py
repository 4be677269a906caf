"""Sweeps of notebook 05 with papermill: points, skipping and resuming, a failed point, the leaderboard."""
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from helpers import REPO_ROOT, sweep as sweeps
from helpers.core.config import ConfigError

EXAMPLE = REPO_ROOT / "notebooks" / "params" / "sweeps" / "example.yaml"


def test_a_sweep_file_names_its_points_and_refuses_typos(tmp_path):
    sweep = sweeps.load(EXAMPLE)
    names = [n for n, _ in sweeps.points(sweep)]
    assert len(names) == 4 and len(set(names)) == 4 and all("/" not in n for n in names)
    assert sweep.base["ENCODER_WEIGHTS"] == "efficientnet-lite0" and sweep.base["EPOCHS"] == 4  # project recipe + CPU budget
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "notebook": "05_gan_training", "grid": {"EPOCH": [1, 2]}}))
    with pytest.raises(ConfigError, match="EPOCH .did you mean EPOCHS"):
        sweeps.load(bad)


@pytest.mark.parametrize("body, problem", [
    ("grid: {ENCODER_NAME: resnet18}", "grid ENCODER_NAME: expected a non-empty list of values, got 'resnet18' "
                                      "(write [resnet18] for one value)"),  # was 8 one-letter points
    ("grid: {LR_G: 0.001}", "grid LR_G: expected a non-empty list of values, got 0.001"),  # was a TypeError
    ("grid: {LR_G: []}", "grid LR_G: expected a non-empty list of values, got []"),
    ("points: {LR_G: 0.001}", "points must be a list of mappings"),
    ("grid: {" + ", ".join(f"K{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" for i in range(7)) + "}",
     "10,000,000 points (grid 10 x 10 x 10 x 10 x 10 x 10 x 10 + 0 listed), more than 200"),  # was 5.2 GB
    ("grid: {LR_G: [0.001, 0.0010]}", "point 2 repeats point 1"),  # the second was skipped as finished
    ("base: !!python/object/apply:os.system [echo hi]", "not a plain YAML file"),
    ("grid: [LR_G]", "grid must be a mapping"),
    ("grid: {LR_G: [fast]}", "point lr_g-fast: lr_g = 'fast'"),
])
def test_a_malformed_sweep_file_is_one_line_and_exit_2(tmp_path, capsys, body, problem):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nnotebook: 05_gan_training\n{body}\n")
    assert sweeps.main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and problem in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_numbers_in_exponent_form_are_numbers_and_names_stay_distinct(tmp_path, capsys):
    """YAML 1.1 reads 1e-3 as a string (the point was refused); distinct values whose names would
    meet (characters dropped from a value) get distinct names."""
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nnotebook: 05_gan_training\ngrid: {LR_G: [1e-3, 2.0e-4]}\n")
    sweep = sweeps.load(path)
    assert sweep.grid["LR_G"] == [0.001, 0.0002] and "s.yaml: 2 point(s)" in capsys.readouterr().out
    names = [n for n, _ in sweeps.points(sweeps.Sweep("s", "05_gan_training", grid={"ENCODER_NAME": ["a b", "ab"]}))]
    assert len(set(names)) == 2 and all(n.startswith("encoder_name-ab-") for n in names)


def test_the_example_sweep_runs_resumes_and_ranks(tiny_runs, split_dataset, tmp_path):
    """The shipped example, with the tests' tiny parameters: every point once; run again, a finished
    point is skipped, a cut-off one resumes and a failed one is retried."""
    ck = tmp_path / "ck"
    for run in ("mask", "inpainter"):
        shutil.copytree(tiny_runs / run, ck / run)
    tiny = REPO_ROOT / "notebooks" / "params" / "tiny" / "05_gan_training.yaml"
    sweep_file = tmp_path / "sweep.yaml"  # the example plus a point that must fail
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["grid"]["LR_G"] = spec["grid"]["LR_G"][:1]
    spec["points"] = [{"MASK_RUN": "no-such-run"}]
    sweep_file.write_text(yaml.safe_dump(spec))
    cmd = [sys.executable, "-m", "helpers.sweep", str(sweep_file), "--extra", str(tiny), "--data-dir",
           str(split_dataset), "--checkpoint-root", str(ck), "--kernel", "dacon-photo-restore", "--quiet",
           "--out", str(tmp_path / "out")]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)
    assert res.returncode == 1, res.stdout[-2000:] + res.stderr[-2000:]  # one point failed, the others ran
    status = json.loads((tmp_path / "out" / "status.json").read_text())
    failed = {k: v for k, v in status.items() if v["status"] == "failed"}
    assert list(failed) == ["mask_run-no-such-run"] and "no-such-run" in failed["mask_run-no-such-run"]["error"]
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    done = board[board.status == "done"]
    assert len(done) == 2 and done.score.notna().all() and list(done.score) == sorted(done.score, reverse=True)
    assert set(done.epochs) == {2} and (tmp_path / "out" / "scores.png").stat().st_size > 1000
    assert len(list((tmp_path / "out").glob("*.ipynb"))) == 3
    # again, after one point was cut off after its first epoch (a disconnect): the finished point is
    # skipped (its notebook untouched), the cut-off one runs again and its notebook resumes, and the
    # failed one is retried (one more run of the sweep checks all three)
    finished, cut = sorted(p.name.removesuffix(".ipynb") for p in (tmp_path / "out").glob("chroma*.ipynb"))
    before = (tmp_path / "out" / f"{finished}.ipynb").stat().st_mtime_ns
    run_dir = ck / f"{spec['name']}--{cut}"
    (run_dir / "epoch_0002.pt").unlink()
    history = pd.read_csv(run_dir / "history.csv")
    history.iloc[:1].to_csv(run_dir / "history.csv", index=False)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)
    assert res.stdout.count("finished earlier, skipped") == 1 and f"== {cut}: " in res.stdout
    assert (tmp_path / "out" / f"{finished}.ipynb").stat().st_mtime_ns == before
    assert "== mask_run-no-such-run: " in res.stdout and res.returncode == 1  # retried, fails again
    executed = (tmp_path / "out" / f"{cut}.ipynb").read_text()
    assert f"resuming {run_dir.name} after epoch 1 from epoch_0001.pt" in executed
    assert len(pd.read_csv(run_dir / "history.csv")) == 2
