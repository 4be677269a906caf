"""Training the generator (notebook 04): an smp U-Net against a PatchGAN, pix2pix style.

The seed's recipe is the default: gray in, RGB out, adversarial BCE + 100 x L1, Adam
1e-4 (G) / 2e-4 (D), betas (0.5, 0.999). Other recipes are parameters:
    output="ycbcr"      keep the known luminance (helpers.colour)
    mask_input=True     the lost region as a second input channel
    adv_start_epoch=k   L1 only before epoch k, then the GAN (adv_weight=0: never)
    prefill=True        show the generator the region Telea-filled (helpers.inpaint)
    hue_weight=w        add w x the soft hue-histogram loss (helpers.hue), the score's C
    tta=True            validate (and later infer) with flip test-time augmentation
    region_luma="base"  keep the (prefilled) input's luminance inside the region too;
                        the generator adds colour only
    ema=d               validate and keep an exponential moving average of the generator's
                        weights (decay d per step; 0: off), which steadies the colours
Validation runs the whole pipeline as inference does, with the lost region found by
the mask model of notebook 03, and reports the DACON score and its parts.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from . import checkpoints
from .colour import OUTPUTS, compose
from .dacon_data import IMAGE_SIZE, data_dir, load_pair, lost_region_mask
from .hue import hue_correlation_loss
from .mask_training import load_mask_model, split_rows
from .masking import predict_mask
from .metrics import WEIGHTS, ImageScore, UndefinedScore, score_image
from .models import PatchDiscriminator, build_with_fallback, device
from .restore import colourise, generator_input
from .torch_data import RestorationDataset
from .training import Run, epoch_loader, seed_everything

DEFAULTS = dict(
    run="gan", mask_run="mask", encoder_name="resnet34", encoder_weights="imagenet",
    weights_fallback="random", output="rgb", mask_input=False, size=256, batch_size=16,
    epochs=30, lr_g=1e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, l1_weight=100.0, adv_weight=1.0,
    adv_start_epoch=1, prefill=False, region_luma="generator", hue_weight=0.0, tta=False, ema=0.0,
    checkpoint_every=3, seed=0, num_workers=2, val_limit=300, n_samples=4,
)
RECORD_KEYS = ("size", "output", "mask_input", "prefill", "region_luma", "tta")  # what inference needs besides the weights

# The recipes compared by `make bench`: the seed's (notebook 04's defaults) and the
# project's, which won on validation lever by lever (scripts/levers.py, README).
RECIPE_KEYS = ("encoder_name", "encoder_weights", "weights_fallback", "output", "mask_input", "prefill",
               "region_luma", "lr_g", "lr_d", "l1_weight", "adv_weight", "adv_start_epoch", "hue_weight", "tta", "ema")
SEED_RECIPE = {k: DEFAULTS[k] for k in RECIPE_KEYS}
PROJECT_RECIPE = {**SEED_RECIPE, "encoder_name": "timm-tf_efficientnet_lite0", "encoder_weights": "efficientnet-lite0",
                  "output": "ycbcr", "mask_input": True, "prefill": True, "region_luma": "base", "ema": 0.99}


def validation_set(rows, mask_model, mask_record, progress: bool) -> list[dict]:
    """Validation images with the lost region the mask model finds (computed once per run)."""
    scale = mask_record["size"] / IMAGE_SIZE[0]
    items = []
    for inp, gt in tqdm(list(zip(rows.input_image_path_abs, rows.gt_image_path_abs)),
                        desc="validation masks", disable=not progress, leave=False):
        gray, _ = load_pair(inp, gt)  # the truth is read to check it, used later
        items.append({"name": Path(inp).name, "input": inp, "gt": gt,
                      "mask": predict_mask(mask_model, gray, scale, mask_record["threshold"])})
    return items


def validate(generator, record: dict, items: list[dict], progress: bool) -> tuple[dict, list]:
    """Mean S, M, C, score over the validation items, and (input, prediction, truth) of the first few."""
    generator.eval()
    scores, shown, undefined = [], [], []
    for it in tqdm(items, desc="validate", disable=not progress, leave=False):
        gray, gt = load_pair(it["input"], it["gt"])
        pred = colourise(generator, record, gray, it["mask"], record["tta"])
        try:
            scores.append(score_image(gt, pred, lost_region_mask(gray, gt)))
        except UndefinedScore:  # a degenerate (constant) prediction: counted as 0, not NaN
            scores.append(ImageScore(0.0, 0.0, 0.0))
            undefined.append(it["name"])
        if len(shown) < 4:
            shown.append((gray, pred, gt))
    if undefined:
        print(f"warning: {len(undefined)} validation image(s) have an undefined score (constant prediction), "
              f"counted as 0: {', '.join(undefined[:5])}")
    means = {k: float(np.mean([getattr(s, k) for s in scores])) for k in WEIGHTS}
    means["score"] = sum(WEIGHTS[k] * means[k] for k in WEIGHTS)
    return means, shown


def sample_grid(shown: list) -> np.ndarray:
    """Rows of input | prediction | truth as one uint8 RGB image (for TensorBoard and PNG)."""
    rows = [np.concatenate([np.repeat(g[..., None], 3, 2), p, t], axis=1) for g, p, t in shown]
    return np.concatenate(rows, axis=0)


def train(config: dict, data_root=None, checkpoint_root=None, progress: bool = True) -> Run:
    """Train (or resume) a GAN run; best.pt is a complete restoration pipeline."""
    cfg = {**DEFAULTS, **config}
    if cfg["output"] not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {cfg['output']!r}")
    root = data_dir(data_root)
    train_rows = split_rows(root, "train_split.csv")
    val_rows = split_rows(root, "val_split.csv", cfg["val_limit"])
    with Run(cfg, checkpoint_root, DEFAULTS) as run:  # locks the folder; released however training ends
        mask_model, mask_state = load_mask_model(Path(checkpoint_root or checkpoints.storage_root()) / cfg["mask_run"])
        mask_record = {k: mask_state[k] for k in ("arch", "size", "threshold", "state_dict")}
        dev = device()
        mask_model.to(dev)

        seed_everything(cfg["seed"])
        in_ch = 2 if cfg["mask_input"] else 1
        G, arch = build_with_fallback(cfg["encoder_name"], in_ch, 3, cfg["encoder_weights"], cfg["weights_fallback"])
        start_from_gray(G)
        D = PatchDiscriminator(in_channels=in_ch + 3)
        G.to(dev)
        D.to(dev)
        run.config["arch"] = arch
        betas = (cfg["beta1"], cfg["beta2"])
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=cfg["lr_d"], betas=betas)
        modules, optims = {"G": G, "D": D}, {"G": opt_g, "D": opt_d}
        if cfg["ema"]:
            modules["G_ema"] = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(cfg["ema"]), use_buffers=True)
        start = run.resume(modules, optims)
        G_out = modules["G_ema"].module if cfg["ema"] else G  # the generator that is validated and kept
        record = {"arch": arch, **{k: cfg[k] for k in RECORD_KEYS}}

        dataset = RestorationDataset(train_rows, size=cfg["size"], augment=True, prefill=cfg["prefill"])
        steps = len(epoch_loader(dataset, cfg["batch_size"], cfg["seed"], 0, 0))
        writer = run.open_writer(steps)
        val_items = validation_set(val_rows, mask_model, mask_record, progress)
        for epoch in range(start + 1, cfg["epochs"] + 1):
            t0 = time.time()
            G.train()
            D.train()
            adversarial = cfg["adv_weight"] > 0 and epoch >= cfg["adv_start_epoch"]
            sums = {"G_adv": 0.0, "G_l1": 0.0, "G_hue": 0.0, "D": 0.0}
            loader = epoch_loader(dataset, cfg["batch_size"], cfg["seed"], epoch, cfg["num_workers"])
            bar = tqdm(loader, desc=f"GAN epoch {epoch}/{cfg['epochs']}", disable=not progress)
            for i, batch in enumerate(bar):
                losses = train_step(G, D, opt_g, opt_d, batch, cfg, adversarial)
                if cfg["ema"]:
                    modules["G_ema"].update_parameters(G)
                step = (epoch - 1) * steps + i
                for k, v in losses.items():
                    sums[k] += v
                    writer.add_scalar(f"loss/{k}", v, step)
                bar.set_postfix({k: f"{v / (i + 1):.4f}" for k, v in sums.items()})
            n = max(1, len(loader))
            val, shown = validate(G_out, record, val_items, progress)
            metrics = {**{f"loss_{k}": v / n for k, v in sums.items()}, **val, "seconds": time.time() - t0}
            for k in ("S", "M", "C", "score"):
                writer.add_scalar(f"val/{k}", val[k], epoch)
            grid = sample_grid(shown)
            writer.add_image("val/input_prediction_truth", grid, epoch, dataformats="HWC")
            _save_grid(grid, run.dir / "samples" / f"epoch_{epoch:04d}.png")
            losses_text = " ".join(f"{k} {metrics['loss_' + k]:.4f}" for k in sums)
            print(f"epoch {epoch}: {losses_text} | val score {val['score']:.4f} (S {val['S']:.4f} "
                  f"M {val['M']:.4f} C {val['C']:.4f}) | {metrics['seconds']:.0f}s")
            run.end_epoch(epoch, metrics, modules, optims, "score", lambda: {
                "kind": "restorer", "generator": {**record, "state_dict": G_out.state_dict()},
                "mask_model": mask_record})
    return run


def start_from_gray(G) -> None:
    """Zero the output layer: the untrained generator answers mid-gray (zero chroma), not noise."""
    head = G.segmentation_head[0]
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)


def train_step(G, D, opt_g, opt_d, batch: dict, cfg: dict, adversarial: bool) -> dict:
    """One pix2pix update: D on real vs fake pairs, then G on fooling D + weighted L1 (+ hue)."""
    dev = next(G.parameters()).device
    gray, mask, gt, base = (batch[k].to(dev) for k in ("input", "mask", "gt", "base"))
    cond = generator_input(base, mask, cfg["mask_input"])
    fake = compose(G(cond), gray, mask, cfg["output"], base, cfg["region_luma"])
    loss_d = torch.zeros(())
    if adversarial:
        real_logits, fake_logits = D(cond, gt), D(cond, fake.detach())
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    loss_l1 = F.l1_loss(fake, gt)
    loss_adv = torch.zeros(())
    if adversarial:
        logits = D(cond, fake)
        loss_adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    loss_hue = hue_correlation_loss(fake, gt) if cfg["hue_weight"] > 0 else torch.zeros(())
    loss_g = cfg["adv_weight"] * loss_adv + cfg["l1_weight"] * loss_l1 + cfg["hue_weight"] * loss_hue
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"G_adv": loss_adv.item(), "G_l1": loss_l1.item(), "G_hue": loss_hue.item(), "D": loss_d.item()}


def _save_grid(grid: np.ndarray, path: Path) -> None:
    from .images import save_png
    save_png(grid, path)


def main(argv=None) -> None:
    """Scripted runs: python -m helpers.gan_training --config '{"epochs": 3}' [--data-dir D] [--checkpoint-root R]."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m helpers.gan_training")
    ap.add_argument("--config", default="{}", help="JSON object overriding DEFAULTS")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--checkpoint-root", default=None)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    train(json.loads(args.config), args.data_dir, args.checkpoint_root, progress=not args.quiet)


if __name__ == "__main__":
    main()
