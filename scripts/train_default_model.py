"""How models/restorer_v1.pt was made, end to end (about 40 minutes on 2 CPU cores).

    python scripts/train_default_model.py [--root runs/shipped/checkpoints] [--out models/restorer_v1.pt]

Needs the sample dataset and its split (make run, or notebooks 01-02 with defaults).
Trains the mask model as `make run` does (3 epochs at 256 px), the generator with the
project's recipe for 24 epochs at 128 px, and exports the best epoch with the inference
settings validation chose (flip TTA, the Telea fill's luminance in the region).
"""
from __future__ import annotations

import argparse

from helpers import REPO_ROOT, gan_training, mask_training, pretrained, recipes

MASK = {**recipes.cpu_budget("03_mask_generator"), "run": "mask"}
# v1 was trained before region_luma="base" joined the recipe: it trained with the
# generator's region luminance and switched to the fill's at export (same weights).
GENERATOR = {**recipes.recipe("project"), "region_luma": "generator", "run": "default-v1", "image_size": 128,
             "batch_size": 8, "epochs": 24, "val_limit": 0, "num_workers": 1, "checkpoint_every": 3}
INFERENCE = dict(tta=True, region_luma="base")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(REPO_ROOT / "runs" / "shipped" / "checkpoints"))
    ap.add_argument("--out", default=str(pretrained.DEFAULT_MODEL))
    args = ap.parse_args()
    mask_training.train(MASK, None, args.root)
    run = gan_training.train(GENERATOR, None, args.root)
    path = pretrained.export(run.dir, args.out, **INFERENCE)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
