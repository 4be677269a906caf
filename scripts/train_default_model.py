"""How the shipped models were made, end to end, on 2 CPU cores (resumable: re-run it).

    python scripts/train_default_model.py [--release v3-fill|v3|v2] [--root DIR] [--out FILE]
        [--step STEP]

Needs the sample dataset and its split (make run, or notebooks 01-02 with defaults).
Each step is a resumable training run under --root (a killed run continues after its newest
checkpoint when the script is run again; a finished one is not retrained), or a file step:

v3-fill, a candidate (runs/shipped-v3-fill/restorer_v3_fill.pt), root runs/shipped-v3-fill/checkpoints:
    inpainter   v2's learned inpainter trained further (INIT_INPAINTER; INPAINTER_V3 below): the inpainter
                curves' best design (docs/scaling.md: 256 px crops of the training split, new ones for
                every item) continued past v2's 1.3 h at a fifth of its learning rate
    export      v2 with that inpainter's best validation epoch in place of its own, int8 weights
v3, a candidate not shipped (runs/shipped-v3/restorer_v3.pt; it scored 0.4873 on the sample test
split against v2's 0.5150, models/MODEL_CARD.md), root runs/shipped-v3/checkpoints:
    unpack      v2's mask model and learned inpainter as run folders (helpers.pipeline.shipped.unpack)
    generator   v2's generator fine-tuned on the project's recipe (a frozen encoder) with 318 new crops
                each epoch of the training split's photos (PHOTO_CROPS) and L1 only (no discriminator),
                validated with v2's mask model and inpainter: the scaling curves' winner started from v2
                (GENERATOR["v3"])
    export      its best validation epoch with v2's mask model and inpainter, int8 weights
v2 (models/restorer_v2.pt), root runs/shipped-v2/checkpoints:
    mask        the mask model, as `make run` trains it (notebooks/params/cpu/03_mask_generator.yaml)
    inpainter   the learned inpainter (INPAINTER below)
    generator   the recipe of that time trained on the learned inpainter's fill (GENERATOR["v2"])
    export      the best pipeline with int8 weights (three networks do not fit 25 MB in float16)
v2 as shipped kept v1's generator (models/MODEL_CARD.md says why and how it was exported);
models/restorer_v1.pt was made by this script's earlier version (git history).
"""
from __future__ import annotations

import argparse
import time

from helpers import REPO_ROOT
from helpers.core import recipes
from helpers.pipeline import shipped
from helpers.training.launch import train

MASK = {**recipes.cpu_budget("03_mask_generator"), "run": "mask"}
INPAINTER = {"run": "inpainter", "crop_size": 256, "samples_per_epoch": 1000, "epochs": 12, "batch_size": 8,
             "num_workers": 1, "checkpoint_every": 1, "crop_reuse": 1}  # v2 was trained on new crops for every item
# 12 epochs: v1's validation score was flat from epoch 9 of 24 (its model card)
INPAINTER_V3 = {**INPAINTER, "run": "inpainter-v3-fill", "init_inpainter": str(shipped.SHIPPED["v2"]), "lr": 2e-4,
                "epochs": 24, "decay_epochs": 24, "val_limit": 0}  # about 6.5 min an epoch on 2 cores; resumable
_RUN = {"inpainter_run": "inpainter", "image_size": 128, "batch_size": 8, "val_limit": 0, "num_workers": 1,
        "checkpoint_every": 1}
GENERATOR = {
    "v2": {**recipes.recipe("project"), **_RUN, "freeze_encoder": False, "run": "generator-v2", "epochs": 12},
    # the scaling curves' best design (docs/scaling.md: a frozen encoder, new crops each epoch), started
    # from v2's generator rather than from ImageNet (trained from ImageNet it peaked at 0.25 h below v2),
    # with half the learning rates for a fine-tune and no discriminator: with one, both earlier candidates
    # drifted once it won (S and M fell; docs/results.md), while the L1-only frozen design still rose at
    # 0.5 h. Export takes the best validation epoch.
    "v3": {**recipes.recipe("project"), **_RUN, "freeze_encoder": True, "photo_crops": 318,
           "init_generator": str(shipped.SHIPPED["v2"]), "lr_g": 5e-5, "lr_d": 1e-4, "adv_weight": 0.0,
           "run": "generator-v3-l1", "epochs": 24},
}
STEPS = {"v2": ("mask", "inpainter", "generator", "export"), "v3": ("unpack", "generator", "export"),
         "v3-fill": ("inpainter", "export")}
OUT = {"v2": shipped.SHIPPED["v2"], "v3": REPO_ROOT / "runs" / "shipped-v3" / "restorer_v3.pt",  # v3*: candidates
       "v3-fill": REPO_ROOT / "runs" / "shipped-v3-fill" / "restorer_v3_fill.pt"}


def export(release: str, root: str, out):
    """The release's pipeline file, int8 weights (three networks do not fit 25 MB in float16)."""
    if release == "v3-fill":  # v2's mask model and generator, the new fill
        return shipped.export(shipped.SHIPPED["v2"], out, weights="int8", inpainter=f"{root}/{INPAINTER_V3['run']}")
    return shipped.export(f"{root}/{GENERATOR[release]['run']}", out, weights="int8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--release", choices=STEPS, default="v3-fill")
    ap.add_argument("--root", default=None, help="default: runs/shipped-<release>/checkpoints")
    ap.add_argument("--out", default=None, help="default: " + ", ".join(
        f"{path.relative_to(REPO_ROOT)} ({release})" for release, path in OUT.items()))
    ap.add_argument("--step", action="append", help="only these steps (default: all of the release's, in order)")
    args = ap.parse_args()
    root = args.root or str(REPO_ROOT / "runs" / f"shipped-{args.release}" / "checkpoints")
    out = args.out or OUT[args.release]
    unknown = set(args.step or ()) - set(STEPS[args.release])
    if unknown:
        ap.error(f"{args.release} has the steps {STEPS[args.release]}, not {sorted(unknown)}")
    for step in args.step or STEPS[args.release]:
        t0 = time.time()
        print(f"== {args.release}: {step}", flush=True)
        if step == "unpack":
            print(shipped.unpack(shipped.SHIPPED["v2"], root))
        elif step == "mask":
            train("mask", MASK, None, root)
        elif step == "inpainter":
            train("inpainter", INPAINTER_V3 if args.release == "v3-fill" else INPAINTER, None, root)
        elif step == "generator":
            train("gan", GENERATOR[args.release], None, root)
        else:
            path = export(args.release, root, out)
            print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
        print(f"== {step} took {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
