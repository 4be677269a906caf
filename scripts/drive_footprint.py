"""How much Google Drive space the training runs of notebooks 03-05 take, measured.

    python scripts/drive_footprint.py

For each training stage with its default config (helpers.core.config: MaskConfig for
notebook 03, InpainterConfig for notebook 04, GanConfig for notebook 05) it builds the
real networks and optimizers with the stage's own `build` (the stage object is made
without its dataset, which `build` does not need), takes one training step with the
stage's own `train_step` on a tiny random batch (so Adam's moment buffers exist, as
in any real checkpoint) and then lets a real `helpers.training.loop.Run` in a temporary
folder record the last epoch with `Run.end_epoch`: that writes best.pt (the stage's
`best_file`) and epoch_XXXX.pt (networks, optimizers, scaler, config, provenance,
RNG states and a full-length history) with helpers.networks.torch_files.save, exactly as a
training run does. Their sizes on disk are measured; nothing is estimated from
parameter counts. The GAN's best.pt holds the mask model and the inpainter too, so it
is built on the mask and inpainter files this script has just written (as GanStage
loads notebook 03's and 04's best.pt).

From those sizes and each config's epochs, checkpoint_every and keep_checkpoints it
prints a markdown table for a run with the defaults: MB written in all (every epoch
checkpoint, and best.pt at most once per epoch checkpoint, which is when a run saves an
improved best.pt: an upper bound), MB kept at the end (keep_checkpoints epoch files +
best.pt) and MB left behind in Drive's trash (deleted epoch files, and replaced best.pt
versions: an upper bound;
Drive keeps deleted files for 30 days and they count against the quota). MB = 10^6 bytes.

Caveat: in Colab the GAN's resnet34 encoder starts from ImageNet weights (a download);
here it is built with encoder_weights=None, which changes the values, not the sizes.
Runs on the CPU in well under a minute; the temporary files are deleted at the end.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers import PHOTOS_DIR
from helpers.core import runs
from helpers.core.config import GanConfig, InpainterConfig, MaskConfig, TrainConfig, replace
from helpers.core.images import save_png, to_gray
from helpers.pipeline.model_files import load_inpainter, load_mask
from helpers.training import checkpoints
from helpers.training.gan import GanStage, sample_grid
from helpers.training.inpainter import InpainterStage
from helpers.training.loop import Run, Stage, seed_everything
from helpers.training.mask import MaskStage

MB = 1e6
SIDE, BATCH = 64, 2  # the tiny random batch: a multiple of 32 (U-Net strides); sizes do not depend on it

# what each stage's validation adds to an epoch's metrics (a few floats in the history and best.pt)
VALIDATION_KEYS = {
    "mask": ("iou_coarse", "dice_coarse", "iou", "dice"),
    "inpainter": ("M", "M_telea", "val_l1"),
    "generator": ("S", "M", "C", "score", "hue_err"),
}


def bare_stage(cls, cfg: TrainConfig) -> Stage:
    """A stage object without its data (its split files, validation set): what `build`,
    `train_step` and `best_file` need is the config, the device and the precision."""
    bare = type(f"Bare{cls.__name__}", (cls,), {"read_splits": lambda self, data_root: None})
    stage = bare.__new__(bare)
    Stage.__init__(stage, cfg, None, None, False)
    return stage


def random_batch(stage: Stage) -> dict:
    """A tiny batch with the keys and channels the stage's train_step reads (uint8, as the loaders give it)."""
    g = torch.Generator().manual_seed(0)
    rand = lambda ch: torch.randint(0, 256, (BATCH, ch, SIDE, SIDE), generator=g, dtype=torch.uint8)
    mask = (rand(1) > 180).to(torch.uint8) * 255
    flip = torch.zeros(BATCH, dtype=torch.bool)
    if isinstance(stage, MaskStage):
        return {"input": rand(1), "mask": mask, "flip": flip}
    if isinstance(stage, InpainterStage):
        return {"input": rand(1), "mask": mask, "target": rand(1), "flip": flip}
    return {"input": rand(1), "mask": mask, "gt": rand(3), "base": rand(1), "flip": flip}


def measure(stage: Stage, root: Path) -> dict:
    """Build, one step, then Run.end_epoch of the last epoch (a checkpoint is always due then)
    in root/<run>; returns the config and the two files' sizes in bytes."""
    cfg = stage.cfg
    run = Run(cfg, root, stage.name)
    try:
        seed_everything(cfg.seed)
        run.provenance = stage.build(run.provenance or None)
        stage.distribute(None)
        stage.train()
        losses = stage.train_step(random_batch(stage), cfg.epochs)
        stage.end_epoch(cfg.epochs)
        metrics = {k: float(v) for k, v in losses.items()}
        metrics.update({k: 0.5 for k in VALIDATION_KEYS[stage.name]})
        metrics["seconds"] = 100.0
        # the epochs before: a full-length history, as the last checkpoint of a real run holds
        run.history = [{"epoch": e, **metrics} for e in range(1, cfg.epochs)]
        run.end_epoch(cfg.epochs, metrics, stage.modules, stage.optimizers, stage.best_key,
                      lambda: stage.best_file(cfg.epochs, metrics, run), stage.precision.scaler)
    finally:
        run.close()
    epoch_file = run.dir / f"epoch_{cfg.epochs:04d}.pt"
    checkpoints.load(epoch_file)  # readable back, as a resume reads it
    return {"cfg": cfg, "epoch_bytes": epoch_file.stat().st_size, "best_bytes": (run.dir / "best.pt").stat().st_size,
            "modules": sorted(stage.modules), "optimizers": sorted(stage.optimizers),
            "precision": stage.precision.describe()}


def gan_stage(cfg: GanConfig, root: Path) -> GanStage:
    """The GAN stage as GanStage.__init__ makes it, minus the data: notebook 03's and 04's
    best.pt (here: the files measure() just wrote under root) are loaded the same way."""
    stage = bare_stage(GanStage, cfg)
    stage.train_rows = None  # read by build only for chroma="bins"
    if cfg.chroma == "bins":
        raise SystemExit("chroma='bins' needs the training split for its bin weights; this script "
                         "measures the default (regress)")
    stage.mask_file = load_mask(runs.find_run(cfg.mask_run, root))
    stage.inpainter_file = load_inpainter(runs.find_run(cfg.inpainter_run, root)) if cfg.inpainter_run else None
    return stage


def sample_grid_bytes(folder: Path) -> int | None:
    """The size of the validation grid PNG the GAN writes to samples/ each epoch (4 rows of
    input | prediction | truth at 512x512), made from repository photos (the truth standing
    in for the prediction); TensorBoard's events keep the same image once more."""
    photos = sorted(Path(PHOTOS_DIR).glob("*.jpg"))[:4]
    if len(photos) < 4:
        return None
    shown = []
    for p in photos:
        im = Image.open(p).convert("RGB")
        side = min(im.size)
        im = im.crop(((im.width - side) // 2, (im.height - side) // 2,
                      (im.width + side) // 2, (im.height + side) // 2)).resize((512, 512), Image.Resampling.BILINEAR)
        rgb = np.asarray(im)
        shown.append((to_gray(rgb), rgb, rgb))
    return save_png(sample_grid(shown), folder / "grid.png").stat().st_size


def schedule(cfg: TrainConfig) -> dict:
    """Which epoch files a run with cfg writes and keeps (Run.end_epoch's rule)."""
    saved = [e for e in range(1, cfg.epochs + 1) if e % cfg.checkpoint_every == 0 or e == cfg.epochs]
    kept = saved[-cfg.keep_checkpoints:] if cfg.keep_checkpoints else saved
    return {"saved": saved, "kept": kept}


def row(label: str, m: dict) -> dict:
    cfg, ckpt, best = m["cfg"], m["epoch_bytes"] / MB, m["best_bytes"] / MB
    s = schedule(cfg)
    n_saved, n_kept = len(s["saved"]), len(s["kept"])
    written = n_saved * (ckpt + best)  # best.pt is saved with an epoch checkpoint when it improved
    kept = n_kept * ckpt + best
    trash = (n_saved - n_kept) * ckpt + (n_saved - 1) * best
    return {"label": label, "ckpt": ckpt, "best": best, "cfg": cfg, "saved": s["saved"], "kept_epochs": s["kept"],
            "written": written, "kept": kept, "trash": trash}


def main() -> None:
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="drive_footprint-"))
    try:
        mask_cfg, inpainter_cfg = MaskConfig(), InpainterConfig()
        gan_cfg = replace(GanConfig(), encoder_weights=None)  # Colab: "imagenet" (a download); same sizes
        results = {}
        print("== notebook 03: mask model ==", flush=True)
        results["03 mask model"] = measure(bare_stage(MaskStage, mask_cfg), tmp)
        print("== notebook 04: inpainter ==", flush=True)
        results["04 inpainter"] = measure(bare_stage(InpainterStage, inpainter_cfg), tmp)
        print("== notebook 05: GAN ==", flush=True)
        results["05 GAN"] = measure(gan_stage(gan_cfg, tmp), tmp)
        grid = sample_grid_bytes(tmp)
        elapsed = time.time() - t0

        rows = [row(k, m) for k, m in results.items()]
        print()
        for k, m in results.items():
            c = m["cfg"]
            print(f"{k}: encoder {c.encoder_name} (weights {c.encoder_weights}), epoch checkpoint holds modules "
                  f"{m['modules']} and optimizers {m['optimizers']}; {m['epoch_bytes']:,} B epoch file, "
                  f"{m['best_bytes']:,} B best.pt")
        print()
        print("| stage | epoch checkpoint (MB) | best.pt (MB) | epochs / checkpoint_every / keep_checkpoints "
              "| epoch files written | written in all, at most (MB) | kept at the end (MB) "
              "| left in Drive's trash, at most (MB) |")
        print("|---|---:|---:|---|---|---:|---:|---:|")
        for r in rows:
            c = r["cfg"]
            print(f"| {r['label']} | {r['ckpt']:.1f} | {r['best']:.1f} | {c.epochs} / {c.checkpoint_every} / "
                  f"{c.keep_checkpoints} | {len(r['saved'])} (kept: epochs "
                  f"{', '.join(map(str, r['kept_epochs']))}) | {r['written']:,.0f} | {r['kept']:,.0f} "
                  f"| {r['trash']:,.0f} |")
        total = {k: sum(r[k] for r in rows) for k in ("written", "kept", "trash")}
        print(f"| all three | | | | | {total['written']:,.0f} | {total['kept']:,.0f} | {total['trash']:,.0f} |")
        print()
        print("Written in all: every epoch checkpoint, plus best.pt with each of them (only when an epoch since "
              "the last checkpoint improved the validation metric). Kept: the newest keep_checkpoints epoch files and best.pt. "
              "Trash: the deleted epoch files and the best.pt versions a better epoch replaced (Drive keeps "
              "deleted files in its trash for 30 days, counted against the quota; a replaced best.pt is "
              "counted there too, whether Drive trashes it or keeps it as an old version). Kept + trash = "
              "written in all: until the trash is emptied the whole amount written counts against the quota. "
              "While a run trains, one more epoch checkpoint than kept exists for a moment (the new one is "
              "written before the oldest is deleted).")
        if grid is not None:
            gan = results["05 GAN"]["cfg"]
            print(f"Not in the table: the GAN also keeps a validation grid PNG per epoch in samples/ "
                  f"(about {grid / MB:.1f} MB each, measured on repository photos, about "
                  f"{gan.epochs * grid / MB:.0f} MB for {gan.epochs} epochs) and the same image in TensorBoard's "
                  "events (tb/); history.csv, config.json and the scalar events are a few kB.")
        print(f"The GAN's resnet34 was built with encoder_weights=None (Colab downloads ImageNet weights: the "
              f"same sizes). Measured in {elapsed:.0f} s, trained in {results['05 GAN']['precision']}; the weights are "
              "float32 under mixed precision too, and with float16 the checkpoint also holds the GradScaler's "
              "few numbers.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
