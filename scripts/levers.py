"""What each lever of notebook 05 is worth on validation: forward selection from the seed's recipe.

    python scripts/levers.py [--epochs 5] [--size 128] [--out runs/levers]

Starts from the seed's recipe and adds one lever at a time on top of the best recipe so
far, keeping it only if validation (whole pipeline, predicted masks, all validation
images) goes up. The criterion is the mean score of the last three epochs: the colour
part C swings by +-0.1 from one epoch to the next, so the best single epoch mostly
measures luck. Every run has the same budget (epochs, image size, batch). A run is named
by its settings, so re-running the script reuses finished runs. Writes levers.json and
levers.md under --out. Needs the sample dataset with its split (make run, or notebooks
01-02) and a mask model (reuses drive_checkpoints/mask if there).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path

import pandas as pd

from helpers import REPO_ROOT
from helpers.core import recipes
from helpers.core.config import GanConfig, field_names
from helpers.core.tables import to_markdown
from helpers.data.dacon import data_dir
from helpers.data.splits import read_split
from helpers.pipeline.model_files import load_inpainter, load_mask
from helpers.pipeline.restore import Restorer
from helpers.training import gan
from helpers.training.launch import train

LITE0 = dict(encoder_name="timm-tf_efficientnet_lite0", encoder_weights="efficientnet-lite0")
LEVERS = [  # (name, settings) in the order they are tried
    ("keep the known (YCbCr)", dict(output="ycbcr")),
    ("mask as input channel", dict(mask_input=True)),
    ("ImageNet Lite0 encoder", LITE0),
    ("Telea prefill", dict(prefill=True)),
    ("EMA of the generator (0.99)", dict(ema=0.99)),
    ("hue-histogram loss x2", dict(hue_weight=2.0)),
    ("no GAN (L1 only)", dict(adv_weight=0.0)),
    ("region luma kept from the Telea fill", dict(region_luma="base")),
    ("chroma classified over bins (rebalanced CE, annealed mean)", dict(chroma="bins")),
]
INFERENCE_LEVERS = [  # tried on the best recipe's final model without retraining
    ("flip TTA", dict(tta=True)),
    ("region luma kept from the Telea fill", dict(region_luma="base")),
]
LAST = 3  # epochs averaged for the criterion
INPAINTER_BUDGET = dict(epochs=4, samples_per_epoch=600, crop_size=256, num_workers=1, checkpoint_every=4,
                        crop_reuse=1)


RECIPE_FIELDS = field_names(GanConfig, "recipe")


def run_name(cfg: dict) -> str:
    recipe = {k: cfg[k] for k in RECIPE_FIELDS}
    return "lever-" + hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]


def train_and_score(name: str, cfg: dict, data, root: Path) -> dict:
    t0 = time.time()
    run = train("gan", cfg, data, root, progress=False)
    hist = pd.DataFrame(run.history)
    last = hist.tail(LAST)[["score", "S", "M", "C", "hue_err"]].mean()
    best = hist.loc[hist.score.idxmax()]
    return {"lever": name, "run": cfg["run"], **last.to_dict(), "best_epoch_score": best.score,
            "best_epoch": int(best.epoch), "train_s": round(time.time() - t0)}


def inference_variant(name: str, run_dir: Path, data, inpainter=None, **changes) -> dict:
    """A finished run's best model validated again with changed inference settings or the
    learned inpainter's fill (no training)."""
    r = Restorer.load(run_dir, backend="torch")
    mask_file = load_mask(run_dir.parent / "mask")
    items = gan.validation_set(read_split(data, "val_split.csv"), mask_file.mask.network(), mask_file.mask, False)
    plain, _ = gan.validate(r.generator, r.gen_spec, items, False)
    val, _ = gan.validate(r.generator, dataclasses.replace(r.gen_spec, **changes), items, False, inpainter)
    return {"lever": f"{name} (inference only, best.pt of epoch {r.pipeline.epoch})", "run": run_dir.name,
            **{k: val[k] for k in ("score", "S", "M", "C", "hue_err")}, "best_epoch_score": None,
            "best_epoch": r.pipeline.epoch, "train_s": 0, "kept": val["score"] > plain["score"],
            "gain": val["score"] - plain["score"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--out", default=str(REPO_ROOT / "runs" / "levers"))
    ap.add_argument("--start", choices=("seed", "project"), default="seed",
                    help="the recipe forward selection starts from (project: only the levers it does not use yet)")
    ap.add_argument("--inpainter-run", default=None, help="a trained inpainter run to try as the region's fill "
                                                         "(default: train one for INPAINTER_BUDGET)")
    args = ap.parse_args()
    out = Path(args.out)
    root = out / "checkpoints"
    data = data_dir()
    if not (root / "mask" / "best.pt").exists():
        shared = REPO_ROOT / "drive_checkpoints" / "mask"
        if (shared / "best.pt").exists():
            shutil.copytree(shared, root / "mask", dirs_exist_ok=True)
        else:
            train("mask", recipes.cpu_budget("03_mask_generator"), data, root)
    budget = dict(image_size=args.size, batch_size=8, epochs=args.epochs, val_limit=0, num_workers=1,
                  checkpoint_every=args.epochs)
    best_cfg = {**recipes.recipe(args.start), **budget, "inpainter_run": ""}
    best_cfg["run"] = run_name(best_cfg)
    best = train_and_score(f"{args.start} recipe", best_cfg, data, root)
    rows = [best]
    print(json.dumps(best))
    for name, change in LEVERS:
        if all(best_cfg[k] == v for k, v in change.items()):
            continue  # the starting recipe has it already
        cfg = {**best_cfg, **change}
        cfg["run"] = run_name(cfg)
        row = train_and_score(name, cfg, data, root)
        row["kept"] = row["score"] > best["score"]
        row["gain"] = row["score"] - best["score"]
        rows.append(row)
        print(json.dumps(row))
        if row["kept"]:
            best, best_cfg = row, cfg
    for name, changes in INFERENCE_LEVERS:
        if any(best_cfg[k] != v for k, v in changes.items()):
            rows.append(inference_variant(name, root / best_cfg["run"], data, **changes))
    if best_cfg["prefill"]:  # the learned inpainter replaces the Telea fill the best recipe keeps
        if args.inpainter_run is None:
            train("inpainter", {"run": "inpainter", **INPAINTER_BUDGET}, data, root, progress=False)
        inpainter = load_inpainter(args.inpainter_run or root / "inpainter").inpainter.network()
        rows.append(inference_variant("learned inpainter's fill in the region", root / best_cfg["run"], data,
                                      inpainter, region_luma="base"))
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "levers.json").write_text(json.dumps({"budget": budget, "criterion": f"mean of the last {LAST} epochs",
                                                 "rows": rows, "best": best_cfg}, indent=2))
    (out / "levers.md").write_text(to_markdown(table))
    print(table.round(4).to_string(index=False))
    print("best recipe:", json.dumps({k: best_cfg[k] for k in RECIPE_FIELDS}))


if __name__ == "__main__":
    main()
