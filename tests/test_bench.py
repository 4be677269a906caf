"""make bench end to end on the small dataset with a tiny budget: every contender scored and timed."""
import json

import pandas as pd

from scripts import bench, scaling
from helpers.pipeline.shipped import shipped_models

from test_inference_paths import RAW_TOLERANCE

BASELINES = ["input unchanged", "gray + Telea", "gray + learned inpainter", "gray oracle"]
NEWEST_SHIPPED = list(shipped_models())[-2:]  # the default and its predecessor: what the bench compares
TRAINED = ["seed recipe", "project recipe", "project recipe + learned inpainter", "project recipe + chroma bins",
           "project recipe + chroma bins + learned inpainter"]


def test_bench_scores_and_times_every_contender(split_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(split_dataset))
    out = tmp_path / "bench"
    assert bench.main(["--epochs", "1", "--size", "64", "--mask-epochs", "1", "--mask-size", "128",
                       "--inpainter-epochs", "1", "--inpainter-samples", "16", "--inpainter-crop", "64",
                       "--out", str(out), "--no-memory", "--compare-images", "3"]) == 0
    result = json.loads((out / "bench.json").read_text())
    rows = {r["contender"]: r for r in result["rows"]}
    shipped = [f"shipped model {v}" for v in NEWEST_SHIPPED]
    assert list(rows) == BASELINES + TRAINED + shipped
    for name, r in rows.items():
        assert r["n"] == 8, name
        assert 0 < r["score"] < 1 and abs(r["score"] - (0.2 * r["S"] + 0.4 * r["M"] + 0.4 * r["C"])) < 1e-6, name
    # the oracle is the truth's own gray: near-perfect structure, almost nothing for colour
    assert rows["gray oracle"]["M"] > 0.8 and rows["gray oracle"]["C"] < 0.3
    for name in TRAINED + shipped:
        r = rows[name]
        assert r["img_per_s"] > 0 and r["plain_img_per_s"] > 0
        assert abs(r["speedup"] - r["img_per_s"] / r["plain_img_per_s"]) < 1e-9
        # ONNX Runtime vs eager PyTorch, compared where that is stable on any CPU (the bounds
        # are explained in test_inference_paths.RAW_TOLERANCE): raw network outputs on the
        # same inputs, and final images restored with the same mask. How often the two
        # backends' masks disagree depends on the CPU's kernels: only a loose bound (90 % of
        # pixels; a mask is thresholded from the same logits, so it agrees on nearly all).
        assert r["mask_logit_rel_diff"] <= RAW_TOLERANCE and r["generator_raw_rel_diff"] <= RAW_TOLERANCE, name
        assert r["same_mask_mean_diff"] <= 0.1 and r["same_mask_p999_diff"] <= 1, name
        assert 0.9 <= r["mask_agreement"] <= 1, name
    assert rows["seed recipe"]["train_s"] > 0 and rows["project recipe"]["train_s"] > 0
    assert result["settings"]["budget"]["epochs"] == 1
    md = (out / "bench.md").read_text()
    assert all(f"| {name} |" in md for name in rows)


def test_bench_of_the_shipped_models_only_trains_nothing(split_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(split_dataset))
    out = tmp_path / "bench"
    assert bench.main(["--shipped-only", "--out", str(out), "--no-memory", "--compare-images", "1"]) == 0
    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert [r["contender"] for r in rows] == [f"shipped model {v}" for v in NEWEST_SHIPPED]
    assert all(r["n"] == 8 and 0 < r["score"] < 1 for r in rows)
    assert not (out / "checkpoints").exists() and (out / "shipped_models.png").is_file()


def test_training_throughput_bench_measures_and_estimates():
    """scripts/bench_train.py's parts on a small size: a GAN step in float32 and bf16 autocast,
    the FLOPs of each stage, and the series estimate built from them."""
    import torch

    from helpers.core.config import GanConfig, InpainterConfig
    from scripts import bench_train
    cpu = torch.device("cpu")
    for amp in ("off", "bf16"):
        assert bench_train.gan_step_rate(64, amp, steps=1, batch=1, dev=cpu) > 0
    flops = bench_train.flops_per_image(64)
    assert set(flops) == {"gan", "mask", "inpainter"} and all(v > 1e8 for v in flops.values())
    stages = ("03 mask model", "04 inpainter", "05 GAN")
    estimate = bench_train.series_estimate(flops, dict.fromkeys(stages, 100.0), dict.fromkeys(stages, 50.0))
    assert set(estimate.platform) == {"Colab T4", "Kaggle 2x T4", "Colab A100"} and (estimate.how == "estimated").all()
    pool = InpainterConfig().crop_pool()
    inp = estimate[(estimate.platform == "Colab T4") & (estimate.stage == "04 inpainter")].iloc[0]
    assert pool > 0 and abs(inp.prepared_once_h - pool / 50.0 / 3600) < 0.01  # the pool's crops, drawn once
    gan = estimate[(estimate.platform == "Colab T4") & (estimate.stage == "05 GAN")].iloc[0]
    assert abs(gan.prepared_once_h - bench_train.TRAIN_IMAGES / 50.0 / 3600) < 0.01  # its cache, built once
    hours = {p: estimate[estimate.platform == p].hours.sum() for p in set(estimate.platform)}
    assert hours["Colab T4"] >= hours["Kaggle 2x T4"] > 0 and hours["Colab T4"] >= hours["Colab A100"] > 0
    assert bench_train.platform_workers(1, 2) == 1 and bench_train.platform_workers(2, 4) == 2
    assert bench_train.platform_workers(1, 12) == 8
    measured = bench_train.series_measured(flops, gan_img_s=10.0, loader_img_s=dict.fromkeys(stages, 1e9),
                                           prepare_img_s=dict.fromkeys(stages, 1e9), workers=1, name="a GPU")
    gan = measured[measured.stage == "05 GAN"].iloc[0]  # compute-bound: images / the measured rate
    assert gan.how == "measured" and abs(gan.hours - bench_train.TRAIN_IMAGES * GanConfig().epochs / 10.0 / 3600) < 0.01


def test_scaling_curves_resume_a_design_and_read_its_history(tiny_runs, split_dataset, tmp_path):
    """scripts/scaling.py on a tiny budget: a design trains until its time passes the budget, a
    second call with a larger one continues the same run, and the curve reads its history."""
    import shutil

    from conftest import TINY_GAN
    root = tmp_path / "scaling"
    for run in ("mask", "inpainter"):
        shutil.copytree(tiny_runs / run, root / run)
    name = next(iter(scaling.DESIGNS))
    base = {**TINY_GAN, "inpainter_run": "inpainter", "checkpoint_every": 1}
    first = scaling.train_until(name, 1e-6, root, split_dataset, base=base)
    assert first.epoch.tolist() == [1]
    budget = 1.5 * first.seconds.sum() / 3600
    again = scaling.train_until(name, budget, root, split_dataset, base=base)
    assert len(again) >= 2 and again.epoch.tolist() == list(range(1, len(again) + 1))  # resumed, not restarted
    trained = again.seconds.sum() / 3600
    rows = scaling.curve(again, [1e-9, trained, 2 * trained])
    # no epoch fits in the first budget, and the run has not reached the last one: no row for either
    assert [r["hours"] for r in rows] == [trained] and [r["epochs"] for r in rows] == [len(again)]
    assert 0 < rows[0]["score"] < 1 and rows[0]["score"] == again.score.tail(scaling.LAST).mean()
    md = scaling.report({name: rows}, root, tmp_path / "doc" / "scaling.md")
    assert name in md and (tmp_path / "doc" / "scaling.png").is_file() and (root / "scaling.json").is_file()


def test_scaling_design_names_can_be_passed_to_designs():
    """--designs splits on commas, and a run's folder is the name's slug: no comma, no two alike."""
    assert not [n for n in scaling.DESIGNS if "," in n]
    assert len({scaling.slug(n) for n in scaling.DESIGNS}) == len(scaling.DESIGNS)


def test_scaling_table_keeps_the_rows_of_runs_another_machine_made(tmp_path):
    """Runs do not outlive a machine: a design without a run here keeps the rows the doc's JSON
    holds, a design with one is read from its history, and a design no longer in DESIGNS is dropped."""
    kept, ran = list(scaling.DESIGNS)[:2]
    doc = tmp_path / "doc" / "scaling.md"
    doc.parent.mkdir()
    old_row = {"hours": 0.25, "epochs": 9, "score": 0.5, "S": 0.8, "M": 0.6, "C": 0.2, "hue_err": 40.0}
    doc.with_suffix(".json").write_text(json.dumps({kept: [old_row], ran: [old_row], "gone": [old_row]}))
    root = tmp_path / "runs"
    (root / scaling.slug(ran)).mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2], "seconds": [600.0, 600.0], **{k: [0.7, 0.7] for k in scaling.METRICS["gan"]}}).to_csv(
        root / scaling.slug(ran) / "history.csv", index=False)
    curves = scaling.curves_so_far(root, [0.25, 0.5], scaling.kept_curves(doc))
    assert curves[kept] == [old_row] and "gone" not in curves
    assert [(r["hours"], r["epochs"], r["score"]) for r in curves[ran]] == [(0.25, 1, 0.7)]
    scaling.report(curves, root, doc)
    assert json.loads(doc.with_suffix(".json").read_text())[kept] == [old_row] and kept in doc.read_text()


def test_colour_probe_scores_its_designs_against_gray_and_the_truths_colour(split_dataset, tmp_path):
    from scripts import colour_probe
    out = tmp_path / "probe.md"
    assert colour_probe.main(["--minutes", "0.01", "--size", "64", "--data", str(split_dataset), "--out", str(out)]) == 0
    rows = {line.split(" | ")[0].strip("| "): [float(v) for v in line.strip(" |").split(" | ")[1:]]
            for line in out.read_text().splitlines() if line.startswith("| ") and "design" not in line}
    assert len(rows) >= 5  # gray, mean map, nearest images (as many k as the images allow), head, truth
    gray, perfect = rows["gray (no colour)"], rows["truth's chroma at 8x8 (a perfect head)"]
    assert perfect[2] > gray[2] + 0.3  # C: the truth's own coarse colour is far above none
