"""How much of the score's colour part frozen ImageNet features can predict: a probe for v3's design.

    python scripts/colour_probe.py [--size 256] [--minutes 5] [--out docs/colour_probe.md] [--data DIR]

The sample dataset's training split is turned gray (its input, the lost region Telea-filled
with the true mask, as the pipeline's prefill does), run once through the packaged
EfficientNet-Lite0 encoder (frozen, ImageNet weights) with its mirror, and its features at
strides 8, 16 and 32 are kept in memory (a few hundred KB an image). A small head learns from
them the photo's chroma at stride 8 (32 x 32 for 256 px): chroma bins with the rebalanced
cross-entropy (helpers.pipeline.chroma_bins), and a global branch from the pooled deepest
features, which carries the photo's overall cast. Each step costs the head alone, so the
probe sees every image many times in minutes.

On the validation split the predicted chroma, enlarged to 512, is put on the input's luma
(region Telea-filled), scored with the DACON score, and set beside: the same gray (no colour),
the training photos' mean chroma map (a prior that does not look at the photo), and the
truth's own chroma averaged to the head's resolution (what a perfect head would reach).
It scores colour only: the pipeline's inpainter and mask model are not used.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import segmentation_models_pytorch as smp
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from helpers.data.dacon import data_dir, load_pair, lost_region_mask
from helpers.networks.models import LITE0, load_lite0_weights
from helpers.pipeline import chroma_bins
from helpers.pipeline.colour import rgb_to_ycbcr, ycbcr_to_rgb
from helpers.pipeline.inpaint import telea
from helpers.core.tables import to_markdown
from helpers.scoring.metrics import aggregate, score_image

STAGES = (3, 4, 5)  # smp encoder outputs at strides 8, 16, 32 (40, 112, 320 channels for Lite0)


def encoder() -> nn.Module:
    enc = smp.Unet(LITE0, encoder_weights=None, in_channels=1, classes=1).encoder
    load_lite0_weights(enc)
    return enc.eval().requires_grad_(False)


def prepared(rows: pd.DataFrame, root: Path, size: int) -> list[dict]:
    """Per image: the prefilled gray at `size` (1, S, S), the truth's chroma at `size` / 8, and at 512
    the prefilled gray, truth and lost region (for scoring)."""
    items = []
    for inp, gt in tqdm(list(zip(rows.input_image_path, rows.gt_image_path)), desc="images", leave=False):
        gray, truth = load_pair(root / inp, root / gt)
        mask = lost_region_mask(gray, truth)
        base = telea(gray, mask, grow=1)
        small = np.asarray(Image.fromarray(base).resize((size, size), Image.Resampling.BILINEAR))
        chroma = rgb_to_ycbcr(torch.from_numpy(truth).permute(2, 0, 1)[None].float() / 255)[:, 1:]
        items.append({"x": torch.from_numpy(small)[None].float() / 255, "base": base, "truth": truth, "mask": mask,
                      "chroma": F.adaptive_avg_pool2d(chroma, size // 8)[0]})
    return items


@torch.no_grad()
def features(enc: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    feats = enc(x)
    return [feats[i] for i in STAGES]


class Head(nn.Module):
    """Stride-32 and stride-16 features brought to stride 8 with the stride-8 ones, three 3x3
    convolutions, a logit per chroma bin; plus a per-image bias from the pooled deepest features."""

    def __init__(self, channels=(40, 112, 320), width: int = 64):
        super().__init__()
        self.reduce = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels)
        self.body = nn.Sequential(
            nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(width, chroma_bins.Q, 1)
        self.cast = nn.Sequential(nn.Linear(channels[-1], width), nn.ReLU(), nn.Linear(width, chroma_bins.Q))

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        size = feats[0].shape[-2:]
        x = sum(F.interpolate(r(f), size=size, mode="bilinear", align_corners=False) if f.shape[-2:] != size else r(f)
                for r, f in zip(self.reduce, feats))
        return self.out(self.body(x)) + self.cast(feats[-1].mean(dim=(2, 3)))[..., None, None]


def colour(base: np.ndarray, chroma: torch.Tensor) -> np.ndarray:
    """The (512, 512, 3) uint8 image: `base` as luma, `chroma` (2, h, w) in [0, 1] enlarged bilinearly."""
    y = torch.from_numpy(base)[None, None].float() / 255
    c = F.interpolate(chroma[None], size=base.shape, mode="bilinear", align_corners=False)
    rgb = ycbcr_to_rgb(torch.cat([y, c], dim=1)).clamp(0, 1)
    return (rgb[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def evaluate(items: list[dict], chromas: list[torch.Tensor]) -> dict:
    scores = [score_image(it["truth"], colour(it["base"], c), it["mask"]) for it, c in zip(items, chromas)]
    means = aggregate(scores)
    del means["n"]
    return means


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256, help="the encoder's input size")
    ap.add_argument("--minutes", type=float, default=5.0, help="training time of the head")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the table here (markdown)")
    ap.add_argument("--data", default=None, help="the dataset (default: the sample dataset), split by notebook 02")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    root = data_dir(args.data)
    train_rows, val_rows = (pd.read_csv(root / f"{s}_split.csv") for s in ("train", "val"))
    enc = encoder()
    t0 = time.time()
    train, val = prepared(train_rows, root, args.size), prepared(val_rows, root, args.size)
    # the training photos and their mirrors, through the frozen encoder once
    xs = torch.stack([it["x"] for it in train])
    xs = torch.cat([xs, xs.flip(-1)])
    targets = torch.stack([it["chroma"] for it in train])
    targets = torch.cat([targets, targets.flip(-1)])
    cached = [torch.cat(parts) for parts in zip(*(features(enc, xs[i:i + 16]) for i in range(0, len(xs), 16)))]
    val_feats = [torch.cat(p) for p in zip(*(features(enc, torch.stack([it["x"] for it in val[i:i + 16]]))
                                             for i in range(0, len(val), 16)))]
    cache_s = time.time() - t0
    weights = chroma_bins.rebalancing_weights(chroma_bins.bin_frequencies([targets]))
    head = Head()
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    steps, t1 = 0, time.time()
    while time.time() - t1 < args.minutes * 60:
        idx = torch.randint(len(targets), (args.batch,))
        loss = chroma_bins.classification_loss(head([f[idx] for f in cached]), targets[idx], weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    train_s = time.time() - t1
    head.eval()
    with torch.no_grad():
        predicted = chroma_bins.annealed_mean(head(val_feats))
    mean_map = targets.mean(dim=0)
    # nearest training photos by pooled ImageNet features (no training: nothing to overfit)
    def pooled(feats):
        return F.normalize(torch.cat([f.mean(dim=(2, 3)) for f in feats[1:]], dim=1), dim=1)
    similarity = pooled(val_feats) @ pooled(cached).T
    knn = {k: targets[similarity.topk(k, dim=1).indices].mean(dim=1) for k in (5, 20, 80) if k <= len(targets)}
    rows = {
        "gray (no colour)": evaluate(val, [torch.full_like(mean_map, 0.5)] * len(val)),
        "training photos' mean chroma map (ignores the photo)": evaluate(val, [mean_map] * len(val)),
        **{f"mean chroma map of the {k} nearest training images (pooled features)": evaluate(val, list(m))
           for k, m in knn.items()},
        f"frozen Lite0 features + head ({steps} steps, {train_s / 60:.1f} min)": evaluate(val, list(predicted)),
        f"truth's chroma at {args.size // 8}x{args.size // 8} (a perfect head)": evaluate(val, [it["chroma"] for it in val]),
    }
    table = pd.DataFrame([{"design": k, **{m: round(v, 4) for m, v in r.items()}} for k, r in rows.items()])
    md = (f"Validation split ({len(val)} images), colour on the input's Telea-filled luma; encoder input {args.size} px, "
          f"features of {len(train)} training images and their mirrors cached in {cache_s:.0f} s.\n\n"
          + to_markdown(table) + "\n")
    print(md)
    if args.out:
        Path(args.out).write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
