"""Training the mask model (notebook 03): an smp U-Net that finds the lost region from the input alone.

Target: input != gray(truth), the score's own mask. Loss: BCE with logits. Validation
each epoch: IoU and Dice at full resolution, of the network's thresholded mask
("coarse") and after snapping to the flat fill (what inference uses). best.pt keeps
the model with the best snapped IoU and is what notebooks 04 and 05 load.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .checkpoints import load_file
from .dacon_data import IMAGE_SIZE, TRAIN_COLUMNS, data_dir, load_pair, lost_region_mask, read_csv
from .images import read_gray, save_png
from .masking import iou_dice, mask_probability, predict_mask, snap_radius, snap_to_fill
from .models import build_with_fallback, device, model_from_arch
from .torch_data import RestorationDataset
from .training import Run, epoch_loader, seed_everything


DEFAULTS = dict(
    run="mask", encoder_name="timm-tf_efficientnet_lite0", encoder_weights="efficientnet-lite0",
    weights_fallback="random", size=256, batch_size=8, epochs=10, lr=1e-3, weight_decay=1e-4,
    threshold=0.5, checkpoint_every=3, seed=0, num_workers=2, val_limit=0,
)


def split_rows(root, name: str, limit: int = 0) -> pd.DataFrame:
    """train_split.csv / val_split.csv of a dataset (written by notebook 02)."""
    root = Path(root)
    if not (root / name).is_file():
        raise FileNotFoundError(f"{root / name}: not found; run notebook 02 (dataset split) first")
    rows = read_csv(root, name, TRAIN_COLUMNS)
    return rows.head(limit) if limit else rows


def evaluate(model, rows: pd.DataFrame, scale: float, threshold: float, progress: bool = False) -> pd.DataFrame:
    """Per-image IoU and Dice at full size, before ('coarse') and after snapping to the fill."""
    model.eval()
    out = []
    for inp_path, gt_path in tqdm(list(zip(rows.input_image_path_abs, rows.gt_image_path_abs)),
                                  desc="validate", disable=not progress, leave=False):
        gray, gt = load_pair(inp_path, gt_path)
        true = lost_region_mask(gray, gt)
        coarse = mask_probability(model, gray, scale) > threshold
        snapped = snap_to_fill(gray, coarse, radius=snap_radius(scale))
        iou_c, dice_c = iou_dice(coarse, true)
        iou, dice = iou_dice(snapped, true)
        out.append({"name": Path(inp_path).name, "iou_coarse": iou_c, "dice_coarse": dice_c,
                    "iou": iou, "dice": dice, "area": float(true.mean())})
    return pd.DataFrame(out)


def train(config: dict, data_root=None, checkpoint_root=None, progress: bool = True) -> Run:
    """Train (or resume) a mask model run; returns the Run (folder, history, best IoU)."""
    cfg = {**DEFAULTS, **config}
    root = data_dir(data_root)
    train_rows = split_rows(root, "train_split.csv")
    val_rows = split_rows(root, "val_split.csv", cfg["val_limit"])
    with Run(cfg, checkpoint_root, DEFAULTS) as run:  # locks the folder; released however training ends
        seed_everything(cfg["seed"])
        model, arch = build_with_fallback(cfg["encoder_name"], 1, 1, cfg["encoder_weights"], cfg["weights_fallback"])
        run.config["arch"] = arch
        dev = device()
        model.to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["epochs"])
        modules, optims = {"model": model}, {"opt": opt, "sched": sched}
        start = run.resume(modules, optims)
        scale = cfg["size"] / IMAGE_SIZE[0]
        dataset = RestorationDataset(train_rows, size=cfg["size"], augment=True)
        steps = len(epoch_loader(dataset, cfg["batch_size"], cfg["seed"], 0, 0))
        writer = run.open_writer(steps)
        for epoch in range(start + 1, cfg["epochs"] + 1):
            t0 = time.time()
            model.train()
            losses = []
            loader = epoch_loader(dataset, cfg["batch_size"], cfg["seed"], epoch, cfg["num_workers"])
            bar = tqdm(loader, desc=f"mask epoch {epoch}/{cfg['epochs']}", disable=not progress)
            for i, batch in enumerate(bar):
                loss = F.binary_cross_entropy_with_logits(model(batch["input"].to(dev)), batch["mask"].to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.item())
                writer.add_scalar("loss/bce", losses[-1], (epoch - 1) * steps + i)
                bar.set_postfix(bce=f"{np.mean(losses):.4f}")
            sched.step()
            val = evaluate(model, val_rows, scale, cfg["threshold"], progress)
            metrics = {"loss": float(np.mean(losses)), **val.drop(columns=["name", "area"]).mean().to_dict(),
                       "seconds": time.time() - t0}
            for k in ("iou", "dice", "iou_coarse"):
                writer.add_scalar(f"val/{k}", metrics[k], epoch)
            print(f"epoch {epoch}: bce {metrics['loss']:.4f}  val IoU {metrics['iou']:.4f} "
                  f"(coarse {metrics['iou_coarse']:.4f})  Dice {metrics['dice']:.4f}  {metrics['seconds']:.0f}s")
            run.end_epoch(epoch, metrics, modules, optims, "iou", lambda: {
                "kind": "mask_model", "arch": arch, "size": cfg["size"], "threshold": cfg["threshold"],
                "state_dict": model.state_dict()})
    return run


def load_mask_model(path) -> tuple[torch.nn.Module, dict]:
    """A trained mask model from best.pt (a file or its run folder), in eval mode, and its record."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no mask model; run notebook 03 (mask generator) first")
    state = load_file(path, "mask model file")
    if state.get("kind") != "mask_model":
        raise ValueError(f"{path}: not a mask model checkpoint (kind={state.get('kind')!r})")
    model = model_from_arch(state["arch"])
    model.load_state_dict(state["state_dict"])
    return model.eval(), state


def write_masks(model, record: dict, input_paths, out_dir, progress: bool = True) -> list[Path]:
    """Predict (and snap) the lost region of each input and save it as a 0/255 PNG of the same name."""
    scale = record["size"] / IMAGE_SIZE[0]
    written = []
    for p in tqdm(list(input_paths), desc="test masks", disable=not progress):
        gray = read_gray(p)
        mask = predict_mask(model, gray, scale, record["threshold"])
        written.append(save_png(mask.astype(np.uint8) * 255, Path(out_dir) / Path(p).name))
    return written
