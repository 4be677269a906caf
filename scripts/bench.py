"""`make bench`: every contender on the sample test split, one table of score and speed.

    python scripts/bench.py [--epochs 8] [--size 128] [--out runs/bench-<time>] [--memory-only]

Contenders, all scored with the exact DACON score on data/sample/test_* (and the median
hue error on the truths' coloured pixels):
    input unchanged            the damaged input as the answer
    gray + Telea               the input with the predicted lost region inpainted by OpenCV
    gray + learned inpainter   the same region filled by the learned inpainter (notebook 04)
    gray oracle                the exact grayscale of the truth (perfect inpainting, no colour)
    seed recipe                notebook 05's seed recipe (gray in, RGB out, BCE + 100 x L1)
    project recipe             notebooks/params/project_recipe.yaml (regressed chroma, Telea fill)
    project recipe + learned inpainter      that run with the inpainter's fill in the region
    project recipe + chroma bins            the same recipe with chroma classified over bins
    project recipe + chroma bins + learned inpainter   that run with the inpainter's fill
    shipped model v1, v2       the two newest models/restorer_v*.pt, as `python -m helpers.predict` uses them
The GAN recipes train for the same budget (epochs, image size, batch) on the same mask
model, which the bench trains first; the inpainter trains for a budget of about the
same CPU time (--inpainter-epochs x --inpainter-samples crops). Speed is images/s of
the whole pipeline at 512x512
(read, mask model, generator, compositing, PNG write) over the test inputs, for the
fast path (ONNX Runtime, batches of 4, reading and PNG writing in threads) and for the
plain loop (eager fp32 PyTorch, one image at a time) of the same models. How far the
fast path is from eager PyTorch is measured where that is stable on any CPU: the raw
network outputs on identical inputs, and the final images restored with the same
predicted mask (mean and 99.9th-percentile difference in levels of 255); how often the
two backends' thresholded masks disagree is reported beside them. The peak memory
(RSS) of `python -m helpers.predict` on a 512x512 image, a 24-megapixel photo and four
12-megapixel photos is measured in a child process. Results go to bench.json and
bench.md in the output folder (and --doc: `make bench` keeps the latest in docs/bench.md); `--memory-only` measures just the memory,
`--shipped-only` just the shipped models (score, speed and their grid; nothing is trained).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from helpers import PHOTOS_DIR, REPO_ROOT
from helpers.core import recipes
from helpers.core.files import atomic_write
from helpers.core.images import read_gray, read_rgb, save_png, to_gray
from helpers.core.tables import to_markdown
from helpers.data.dacon import data_dir, read_test_csv
from helpers.data.photos import list_photos
from helpers.data.splits import split_dir, write_split
from helpers.pipeline.folder import restore_folder
from helpers.pipeline.inpaint import learned_fill, telea
from helpers.pipeline.masking import mask_logits, predict_mask
from helpers.pipeline.model_files import MaskSpec, load_inpainter, load_mask, load_pipeline
from helpers.pipeline.restore import Restorer, compose_full, generator_output
from helpers.pipeline.shipped import DEFAULT_MODEL, shipped_models
from helpers.scoring.folders import score_folders
from helpers.training.launch import train


def gray_answers(test_inputs: list[Path], gt_dir: Path, out_dir: Path, mask_model, spec: MaskSpec,
                 inpainter=None) -> dict[str, Path]:
    """Write the answers that need no generator; returns {contender: folder}."""
    names = ["input unchanged", "gray + Telea"] + (["gray + learned inpainter"] if inpainter else []) + ["gray oracle"]
    folders = {k: out_dir / k for k in names}
    for path in tqdm(test_inputs, desc="baselines", leave=False):
        gray = read_gray(path)
        mask = predict_mask(mask_model, gray, spec.scale, spec.threshold)
        answers = {"input unchanged": gray, "gray + Telea": telea(gray, mask),
                   "gray oracle": to_gray(read_rgb(gt_dir / path.name))}
        if inpainter is not None:
            answers["gray + learned inpainter"] = learned_fill(inpainter, gray, mask)
        for k, g in answers.items():
            save_png(np.repeat(g[..., None], 3, axis=2), folders[k] / path.name)
    return folders


FAST = dict(batch_size=4, io_threads=2)  # with the ONNX Runtime backend
PLAIN = dict(batch_size=1, io_threads=0)  # with eager PyTorch: one image at a time, no overlap


def images_per_second(restorer: Restorer, inputs: list[Path], out_dir: Path, loop: dict) -> float:
    """Whole-pipeline throughput over `inputs` (read, networks, compositing, PNG write), after a warm-up."""
    restore_folder(restorer, inputs[:2], out_dir, progress=False, **loop)
    t0 = time.perf_counter()
    report = restore_folder(restorer, inputs, out_dir, progress=False, **loop)
    seconds = time.perf_counter() - t0
    if report.failed:
        raise RuntimeError(f"restoring the test inputs failed: {report.failed}")
    return len(inputs) / seconds


def compare_backends(fast: Restorer, plain: Restorer, inputs: list[Path]) -> dict:
    """How far the fast path (ONNX Runtime) is from eager PyTorch, measured where it is stable.

    Each backend picks its own kernels (and those differ between CPUs), so a pixel near
    the mask threshold may flip and move the Telea fill around it: comparing the final
    images of two independent runs measures that luck. Compared instead: the raw network
    outputs on the same inputs (max absolute difference relative to the outputs' largest
    magnitude, at least 1), and the final images restored
    with one and the same mask, the fast path's (mean and 99.9th percentile of the
    per-pixel difference, levels of 255). Mask agreement is reported for information.
    """
    scale = fast.mask_spec.scale

    def rel(a, b):
        return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))

    logit = raw = 0.0
    diffs, agree = [], []
    for p in inputs:
        gray = read_gray(p)[None]
        logit = max(logit, rel(mask_logits(fast.mask_model, gray, scale), mask_logits(plain.mask_model, gray, scale)))
        mask = fast.find_mask(gray)
        agree.append(float((mask == plain.find_mask(gray)).mean()))
        out_f, base = generator_output(fast.generator, fast.gen_spec, gray, mask, fast.tta, fast.inpainter)
        out_p, _ = generator_output(plain.generator, plain.gen_spec, gray, mask, plain.tta, plain.inpainter)
        raw = max(raw, rel(out_f, out_p))
        a = compose_full(out_f, fast.gen_spec, gray, mask, base)
        b = compose_full(out_p, plain.gen_spec, gray, mask, base)
        diffs.append(np.abs(a.astype(np.int16) - b).ravel())
    d = np.concatenate(diffs)
    return {"mask_logit_rel_diff": logit, "generator_raw_rel_diff": raw, "mask_agreement": float(np.mean(agree)),
            "same_mask_mean_diff": float(d.mean()), "same_mask_p999_diff": float(np.percentile(d, 99.9))}


def synthetic_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A large gray test photo: an embedded photo upscaled, with one flat-filled lost region."""
    from PIL import Image, ImageDraw
    photo = Image.open(list_photos(PHOTOS_DIR)[seed]).convert("L").resize((width, height), Image.Resampling.BILINEAR)
    ImageDraw.Draw(photo).ellipse((width * 0.4, height * 0.4, width * 0.55, height * 0.6), fill=20)
    return np.asarray(photo)


MEMORY_CASES = (("one 512x512 image", 1, 512, 512), ("one 24 MP photo (6000x4000)", 1, 6000, 4000),
                ("four 12 MP photos (4000x3000), batch 4", 4, 4000, 3000),
                ("one 110 MP photo (11000x10000)", 1, 11000, 10000),
                # the worst case: a black scan is taken for lost almost whole (it took 6 min and 4 GB)
                ("one 110 MP black scan (11000x10000)", 1, 11000, 10000))


def peak_rss(cases=MEMORY_CASES, model: Path = DEFAULT_MODEL) -> list[dict]:
    """Peak resident memory of `python -m helpers.predict` (a fresh child process) on each case."""
    import subprocess
    import sys
    import tempfile
    rows = []
    for name, count, w, h in cases:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in"
            for i in range(count):
                save_png(np.zeros((h, w), np.uint8) if "black" in name else synthetic_photo(w, h, seed=i),
                         src / f"photo_{i}.png")
            probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
                     "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
            cmd = [sys.executable, "-c", probe, sys.executable, "-m", "helpers.predict", "--input-dir", str(src),
                   "--output-dir", str(Path(tmp) / "out"), "--run", str(model), "--quiet", "--batch-size", "4"]
            t0 = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
            if res.returncode != 0:
                raise RuntimeError(f"predict failed on {name}: {res.stderr[-2000:]}")
            rows.append({"case": name, "megapixels": round(count * w * h / 1e6, 1),
                         "peak_rss_mb": round(int(res.stdout.strip().splitlines()[-1]) / 1024),
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(f"{name}: peak RSS {rows[-1]['peak_rss_mb']} MB, {rows[-1]['seconds']} s")
    return rows


def app_peak_rss(model: Path = DEFAULT_MODEL) -> list[dict]:
    """Peak resident memory and seconds of the web app's request handler (a fresh child process)
    on the largest photo it accepts (helpers.app.APP_MAX_PIXELS), a photo and a black scan."""
    import subprocess
    import sys
    import tempfile

    from helpers.app import APP_MAX_PIXELS
    w = int((APP_MAX_PIXELS * 3 / 2) ** 0.5) // 32 * 32
    h = APP_MAX_PIXELS // w
    rows = []
    for name in (f"one {w * h / 1e6:.0f} MP photo ({w}x{h})", f"one {w * h / 1e6:.0f} MP black scan ({w}x{h})"):
        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(tmp) / "upload.png"
            save_png(np.zeros((h, w), np.uint8) if "black" in name else synthetic_photo(w, h), photo)
            script = ("import resource, sys, time; from pathlib import Path; from helpers.app import restore_files; "
                      "from helpers.pipeline.restore import Restorer; r = Restorer.load(sys.argv[1]); t = time.perf_counter(); "
                      "g, d, m = restore_files(r, [sys.argv[2]], 0.5, False, Path(sys.argv[3])); "
                      "assert len(d) == 1, m; print(time.perf_counter() - t); "
                      "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
            res = subprocess.run([sys.executable, "-c", script, str(model), str(photo), tmp], capture_output=True,
                                 text=True, cwd=REPO_ROOT)
            if res.returncode != 0:
                raise RuntimeError(f"the app failed on {name}: {res.stderr[-2000:]}")
            seconds, rss = res.stdout.strip().splitlines()[-2:]
            rows.append({"case": f"web app: {name}", "megapixels": round(w * h / 1e6, 1),
                         "peak_rss_mb": round(int(rss) / 1024), "seconds": round(float(seconds), 1)})
            print(f"{rows[-1]['case']}: peak RSS {rows[-1]['peak_rss_mb']} MB, {rows[-1]['seconds']} s (request only)")
    return rows


def bench_models() -> dict[str, Path]:
    """The shipped models the bench compares: the two newest (the default and its predecessor)."""
    return dict(list(shipped_models().items())[-2:])


def shipped_grid(test_inputs: list[Path], gt_dir: Path, predictions: Path, path: Path, rows: int = 4) -> None:
    """input | older | newer shipped model | truth for a few test images, from the bench's predictions."""
    import matplotlib
    matplotlib.use("Agg")
    from helpers.data.viz import image_grid
    columns = [f"shipped model {v}" for v in bench_models() if (predictions / f"shipped model {v}").is_dir()]
    picked = test_inputs[:: max(1, len(test_inputs) // rows)][:rows]
    grid = [[read_gray(p)] + [read_rgb(predictions / c / p.name) for c in columns] + [read_rgb(gt_dir / p.name)]
            for p in picked]
    fig = image_grid(grid, ["input"] + [c.removeprefix("shipped model ") for c in columns] + ["truth"],
                     [p.name for p in picked])
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))


def pipeline_with(path: Path, inpainter: bool):
    """A pipeline file, without its learned inpainter if asked (its region then keeps Telea's fill)."""
    pipeline = load_pipeline(path)
    if not inpainter:
        pipeline.inpainter = None
    return pipeline


def train_recipe(name: str, recipe: dict, budget: dict, data, ck_root: Path) -> tuple[Path, float]:
    """Train one recipe for the budget; (run folder, seconds)."""
    t0 = time.time()
    run = train("gan", {**recipe, **budget, "run": name}, data, ck_root)
    return run.dir, time.time() - t0


def train_contenders(args, mask_budget: dict, data: Path, out: Path, test_inputs: list[Path]
                     ) -> tuple[list[dict], dict, dict]:
    """Train the mask model, the inpainter and every recipe for the bench's budget and score the
    gray baselines: (baseline rows, trained pipelines, the settings they were trained with).
    pipelines: contender -> (pipeline file, training seconds, with its learned inpainter)."""
    ck, gt_dir, input_dir = out / "checkpoints", data / "test_gt", data / "test_input"
    rows, pipelines = [], {}
    print("== mask model")
    t0 = time.time()
    train("mask", {**mask_budget, "run": "mask"}, data, ck)
    mask_s = time.time() - t0
    mask_file = load_mask(ck / "mask")

    print(f"== learned inpainter: {args.inpainter_epochs} epochs of {args.inpainter_samples} crops")
    t0 = time.time()
    inpainter_budget = {"run": "inpainter", "epochs": args.inpainter_epochs, "samples_per_epoch": args.inpainter_samples,
                        "crop_size": args.inpainter_crop, "num_workers": 1, "checkpoint_every": args.inpainter_epochs,
                        "crop_reuse": 1}  # new crops for every item, as the results in docs were measured
    train("inpainter", inpainter_budget, data, ck)
    inpainter_s = time.time() - t0
    inpainter = load_inpainter(ck / "inpainter").inpainter.network()

    print("== baselines")
    answers = gray_answers(test_inputs, gt_dir, out / "predictions", mask_file.mask.network(), mask_file.mask,
                           inpainter)
    for name, folder in answers.items():
        _, summary = score_folders(folder, gt_dir, input_dir, progress=False)
        rows.append({"contender": name, **summary, "train_s": inpainter_s if "learned" in name else None})

    budget = dict(epochs=args.epochs, image_size=args.size, batch_size=8, num_workers=1, val_limit=0,
                  checkpoint_every=args.epochs)
    project = recipes.recipe("project")
    # Each prefill run is scored twice: with Telea's fill in the region, and with the learned
    # inpainter's (a pipeline option; the generator trains on Telea prefills either way).
    trained = {"seed recipe": ("seed", recipes.recipe("seed")),
               "project recipe": ("project", {**project, "inpainter_run": "inpainter"}),
               "project recipe + chroma bins": ("bins", {**project, "chroma": "bins", "inpainter_run": "inpainter"})}
    for name, (run, recipe) in trained.items():
        print(f"== {name}: {args.epochs} epochs at {args.size} px")
        run_dir, train_s = train_recipe(run, recipe, budget, data, ck)
        pipelines[name] = (run_dir, train_s, False)
        if recipe.get("prefill"):
            pipelines[f"{name} + learned inpainter"] = (run_dir, train_s, True)
    settings = {"mask_budget": mask_budget, "budget": budget, "inpainter_budget": inpainter_budget,
                "recipes": {k: v[1] for k, v in trained.items()}, "mask_train_s": mask_s}
    return rows, pipelines, settings


def main(argv=None) -> int:
    mask_cpu = recipes.cpu_budget("03_mask_generator")
    ap = argparse.ArgumentParser(prog="python scripts/bench.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=8, help="GAN epochs of each recipe (same budget for both)")
    ap.add_argument("--size", type=int, default=128, help="training image size of both recipes")
    ap.add_argument("--mask-epochs", type=int, default=mask_cpu["epochs"], help="mask model epochs (make run's)")
    ap.add_argument("--mask-size", type=int, default=mask_cpu["image_size"], help="mask model training size")
    ap.add_argument("--inpainter-epochs", type=int, default=4, help="learned inpainter epochs")
    ap.add_argument("--inpainter-samples", type=int, default=600, help="damaged crops per inpainter epoch")
    ap.add_argument("--inpainter-crop", type=int, default=256, help="inpainter training crop side")
    ap.add_argument("--out", default=None, help="output folder (default runs/bench-<time>)")
    ap.add_argument("--doc", default=None, help="also write the table here (make bench: docs/bench.md)")
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory measurement")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    ap.add_argument("--shipped-only", action="store_true",
                    help="only the shipped models: score, speed and their grid (nothing is trained)")
    ap.add_argument("--compare-images", type=int, default=0,
                    help="time the plain loop and compare the backends on the first N test images (0: all)")
    args = ap.parse_args(argv)
    if args.memory_only:
        memory = pd.DataFrame(peak_rss() + app_peak_rss())
        print(memory.to_string(index=False))
        return 0
    mask_budget = {**mask_cpu, "epochs": args.mask_epochs, "image_size": args.mask_size,
                   "checkpoint_every": args.mask_epochs}
    out = Path(args.out or REPO_ROOT / "runs" / time.strftime("bench-%Y%m%d-%H%M%S"))
    data = data_dir()
    if not (split_dir(data) / "train_split.csv").exists():
        write_split(data)
    test_inputs = list(read_test_csv(data).input_image_path_abs.map(Path))
    gt_dir, input_dir = data / "test_gt", data / "test_input"
    torch.manual_seed(0)

    rows, pipelines, training = ([], {}, {}) if args.shipped_only else train_contenders(
        args, mask_budget, data, out, test_inputs)
    for version, path in bench_models().items():
        pipelines[f"shipped model {version}"] = (path, None, True)

    for name, (path, train_s, with_inpainter) in pipelines.items():
        print(f"== {name}: restore, time and score the test split")
        fast_r, plain_r = (Restorer(pipeline_with(path, with_inpainter), backend=b) for b in ("onnx", "torch"))
        print(fast_r.describe())
        folder, plain_folder = out / "predictions" / name, out / "predictions" / f"{name} (plain loop)"
        fast = images_per_second(fast_r, test_inputs, folder, FAST)  # every test image: scored below
        compared = test_inputs[:args.compare_images] if args.compare_images else test_inputs
        plain = images_per_second(plain_r, compared, plain_folder, PLAIN)
        _, summary = score_folders(folder, gt_dir, input_dir, progress=False)
        rows.append({"contender": name, **summary, "train_s": train_s, "img_per_s": fast,
                     "plain_img_per_s": plain, "speedup": fast / plain,
                     **compare_backends(fast_r, plain_r, compared)})

    table = pd.DataFrame(rows)[["contender", "score", "S", "M", "C", "hue_err", "hue_within_20", "n", "train_s",
                                "img_per_s", "plain_img_per_s", "speedup", "same_mask_mean_diff",
                                "same_mask_p999_diff", "mask_agreement", "mask_logit_rel_diff",
                                "generator_raw_rel_diff"]]
    memory = [] if args.no_memory or not DEFAULT_MODEL.exists() else peak_rss() + app_peak_rss()
    if any(r["contender"].startswith("shipped model") for r in rows):
        shipped_grid(test_inputs, gt_dir, out / "predictions", out / "shipped_models.png")
    settings = {"epochs": args.epochs, "size": args.size, **training, "torch_threads": torch.get_num_threads()}
    atomic_write(out / "bench.json", lambda tmp: Path(tmp).write_text(
        json.dumps({"settings": settings, "rows": table.to_dict(orient="records"), "memory": memory},
                   indent=2, default=str)))
    md = to_markdown(table.astype(object).where(table.notna(), ""))
    if memory:
        md += "\n\nPeak memory of `python -m helpers.predict` (shipped model):\n\n" + to_markdown(pd.DataFrame(memory))
    what = ("the shipped models only (`--shipped-only`)" if args.shipped_only else
            f"{settings['epochs']} epochs at {settings['size']} px per GAN recipe")
    md = (f"# `make bench`, {time.strftime('%Y-%m-%d')}\n\nWritten by `scripts/bench.py` ({what}; docs/results.md "
          "explains the contenders and columns).\n\n" + md + "\n")
    for path in (out / "bench.md", *([Path(args.doc)] if args.doc else [])):  # make bench: docs/bench.md, the latest
        atomic_write(path, lambda tmp: Path(tmp).write_text(md))
    print(table.round(4).to_string(index=False))
    if memory:
        print(pd.DataFrame(memory).to_string(index=False))
    print(f"== written: {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
