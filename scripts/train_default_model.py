"""How models/restorer_v2.pt was made, end to end, on 2 CPU cores (resumable: re-run it).

    python scripts/train_default_model.py [--root runs/shipped-v2/checkpoints] [--out models/restorer_v2.pt]
        [--step mask|inpainter|generator|export]

Needs the sample dataset and its split (make run, or notebooks 01-02 with defaults).
Four steps, each a resumable training run under --root (a killed run continues after
its newest checkpoint when the script is run again; a finished one is not retrained):
    mask        the mask model, as `make run` trains it (notebooks/params/cpu/03_mask_generator.yaml)
    inpainter   the learned inpainter (INPAINTER below)
    generator   the project's recipe trained on the learned inpainter's fill (GENERATOR below)
    export      the best pipeline with int8 weights (three networks do not fit 25 MB in float16)
models/restorer_v1.pt was made by this script's earlier version (git history): the project
recipe for 24 epochs at 128 px, exported in float16 with flip TTA and the Telea fill's luminance.
"""
from __future__ import annotations

import argparse
import time

from helpers import REPO_ROOT
from helpers.core import recipes
from helpers.pipeline import shipped as pretrained
from helpers.training.launch import train

MASK = {**recipes.cpu_budget("03_mask_generator"), "run": "mask"}
INPAINTER = {"run": "inpainter", "crop_size": 256, "samples_per_epoch": 1000, "epochs": 12, "batch_size": 8,
             "num_workers": 1, "checkpoint_every": 1, "crop_reuse": 1}  # v2 was trained on new crops for every item
# 12 epochs: v1's validation score was flat from epoch 9 of 24 (its model card)
GENERATOR = {**recipes.recipe("project"), "freeze_encoder": False,  # v2 fine-tuned its encoder
             "inpainter_run": "inpainter", "run": "generator-v2",
             "image_size": 128, "batch_size": 8, "epochs": 12, "val_limit": 0, "num_workers": 1, "checkpoint_every": 1}
STEPS = ("mask", "inpainter", "generator", "export")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(REPO_ROOT / "runs" / "shipped-v2" / "checkpoints"))
    ap.add_argument("--out", default=str(pretrained.SHIPPED["v2"]))
    ap.add_argument("--step", choices=STEPS, action="append", help="only these steps (default: all, in order)")
    args = ap.parse_args()
    for step in args.step or STEPS:
        t0 = time.time()
        print(f"== {step}", flush=True)
        if step == "mask":
            train("mask", MASK, None, args.root)
        elif step == "inpainter":
            train("inpainter", INPAINTER, None, args.root)
        elif step == "generator":
            train("gan", GENERATOR, None, args.root)
        else:
            path = pretrained.export(f"{args.root}/{GENERATOR['run']}", args.out, weights="int8")
            print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
        print(f"== {step} took {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
