"""`make bench-train`: training throughput, and the full-data series time it implies on Colab's GPUs.

    python scripts/bench_train.py [--out runs/bench-train-<time>] [--steps 5] [--loader-batches 30]

Measured here (on a GPU too, when there is one):
    loader     images/s the GAN's data loader delivers at 256 and 512 px with 1 and 2 workers,
               decoding every PNG (read, resize, Telea prefill) and from the disk cache
               (helpers.training.data_cache, what training uses); the inpainter's crops drawn anew from
               the truths' PNGs or their cached gray, and read from its cached crop pool
    GAN step   images/s of one full pix2pix update (generator = the default resnet34 U-Net
               as notebook 05 defaults it, PatchGAN) at 256 and 512 px, in float32 and under autocast
               (bf16 on a CPU that has it)
    FLOPs      floating-point operations of one training image of each stage (mask model,
               inpainter, GAN), counted by torch.utils.flop_counter
The series time for DACON's data (23,683 training and 5,920 validation images after
the split) is then estimated for each platform (PLATFORMS: Colab's T4 and A100, Kaggle's
2x T4) as what is prepared once (the disk caches, the inpainter's crop pool: at the
decoding loaders' rates) plus the larger of two times: FLOPs / a sustained throughput per
card (SUSTAINED: a conservative share of the card's dense fp16/bf16 tensor peak) and
images / the data loaders' rate (from the caches, and the inpainter's from its crop pool), taken
as this machine's rate per loader worker times the workers the
training would start on that platform's CPU cores (helpers.networks.devices.loader_workers; this
assumes their cores are about as fast as these). The table says "estimated". On a GPU the
script also gives the series time for that GPU from its own measured GAN step (the mask
model's and inpainter's scaled by their FLOPs), marked "measured".
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from helpers import REPO_ROOT
from helpers.core.config import GanConfig, InpainterConfig, MaskConfig, as_dict
from helpers.core.files import atomic_write
from helpers.core.tables import to_markdown
from helpers.data.dacon import data_dir
from helpers.data.splits import read_split, split_dir, write_split
from helpers.networks.devices import Precision, device, loader_workers
from helpers.networks.models import PatchDiscriminator, build_unet
from helpers.pipeline.colour import out_channels
from helpers.training.datasets import InpaintingCrops, RestorationDataset
from helpers.training.gan import start_from_gray, train_step
from helpers.training.loop import EpochSampler

TRAIN_IMAGES, VAL_IMAGES = 23_683, 5_920  # DACON's 29,603 training pairs after notebook 02's 20 % split
# Sustained dense throughput assumed for mixed-precision U-Net training (FLOP/s): about a
# third of the tensor-core peak (T4: 65 TFLOP/s fp16; A100: 312 TFLOP/s bf16), a common
# figure for convolutional networks of this size that keep the card busy.
SUSTAINED = {"T4": 20e12, "A100": 100e12}
# platform: (card, GPUs, CPU cores of the runtime) as Colab and Kaggle give them today
PLATFORMS = {"Colab T4": ("T4", 1, 2), "Kaggle 2x T4": ("T4", 2, 4), "Colab A100": ("A100", 1, 12)}


def platform_workers(gpus: int, cores: int) -> int:
    """Loader workers in all on a platform: one loader per training process, each with
    loader_workers(-1)'s count for its share of the cores (0 workers still loads, in the
    main process, at about one worker's rate)."""
    return gpus * max(1, min(8, cores // gpus - 1))


def loader_rate(size: int, batches: int, workers: int, cache: bool) -> float:
    """Images/s of the GAN's training loader at `size` px (prefill on), decoding every PNG or
    reading the disk cache (helpers.training.data_cache; built first, outside the timing)."""
    root = data_dir()
    if not (split_dir(root) / "train_split.csv").exists():
        write_split(root)
    ds = RestorationDataset(read_split(root, "train_split.csv"), size=size, augment=True, prefill=True,
                            cache=cache, workers=loader_workers(-1))
    return timed(ds, batches, workers)


INPAINTER_LOADERS = {"decoded": "new crops from the truths' PNGs", "gray cached": "new crops from the cached gray",
                     "pool": "read from the cached crop pool"}


def inpainter_rate(batches: int, workers: int, how: str) -> float:
    """Images/s of the inpainter's loader (notebook 04's crop size): new damaged crops drawn from the
    truths' PNGs or from their gray in the disk cache, or crops read from the cached pool
    (caches built first, outside the timing)."""
    root = data_dir()
    cfg = InpainterConfig()
    truths = list(read_split(root, "train_split.csv").gt_image_path_abs)
    ds = InpaintingCrops(truths, [], cfg.crop_size, 8 * (batches + 1), seed=0, cache=how != "decoded",
                         pool=8 * batches if how == "pool" else 0, workers=loader_workers(-1))
    return timed(ds, batches, workers)


def timed(ds, batches: int, workers: int) -> float:
    """Images/s of a loader over ds (batches of 8, within one epoch), after its workers started."""
    sampler = EpochSampler(len(ds), 0)
    loader = torch.utils.data.DataLoader(ds, batch_size=8, sampler=sampler, num_workers=workers)
    it = iter(loader)
    next(it)  # workers start
    t0, n = time.perf_counter(), 0
    for _ in range(min(batches, len(loader) - 1)):  # within one epoch (the sample split has 39 batches)
        n += len(next(it)["input"])
    return n / (time.perf_counter() - t0)


def gan_parts(size: int, dev: torch.device):
    cfg = GanConfig(image_size=size, encoder_weights=None)
    in_ch = 2
    G, _ = build_unet(cfg.encoder_name, in_ch, out_channels(cfg.output, cfg.chroma), None)
    start_from_gray(G, cfg.chroma)
    D = PatchDiscriminator(in_ch + 3)
    G.to(dev)
    D.to(dev)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-4), torch.optim.Adam(D.parameters(), 2e-4)
    return cfg, G, D, opt_g, opt_d


def batch_of(n: int, size: int, dev: torch.device) -> dict:
    """A batch as the loader gives it: uint8 images and a flip flag per item."""
    g = torch.Generator().manual_seed(0)
    gt = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    mask = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    mask[:, :, size // 4: size // 2, size // 4: size // 2] = 255
    gray = gt.float().mean(1, keepdim=True).to(torch.uint8)
    flip = torch.arange(n) % 2 == 1
    return {k: v.to(dev) for k, v in {"input": gray, "base": gray, "mask": mask, "gt": gt, "flip": flip}.items()}


def gan_step_rate(size: int, amp: str, steps: int, batch: int, dev: torch.device) -> float:
    """Images/s of full pix2pix updates at `size` px, notebook 05's defaults (after one warm-up step)."""
    from helpers.pipeline import chroma_bins
    cfg, G, D, opt_g, opt_d = gan_parts(size, dev)
    precision = Precision(amp, dev)
    weights = torch.ones(chroma_bins.Q)
    data = batch_of(batch, size, dev)
    train_step(G, D, opt_g, opt_d, data, cfg, True, precision, weights)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        losses = train_step(G, D, opt_g, opt_d, data, cfg, True, precision, weights)
    float(losses["loss_G_l1"])  # wait for the device
    return steps * batch / (time.perf_counter() - t0)


def flops_per_image(size: int) -> dict:
    """Training FLOPs (forward + backward) of one image for each stage, counted on the CPU."""
    out = {}
    cpu = torch.device("cpu")
    cfg, G, D, opt_g, opt_d = gan_parts(size, cpu)
    from helpers.pipeline import chroma_bins
    with FlopCounterMode(display=False) as counter:
        train_step(G, D, opt_g, opt_d, batch_of(1, size, cpu), cfg, True, Precision("off", cpu),
                   torch.ones(chroma_bins.Q))
    out["gan"] = counter.get_total_flops()
    for name, cfg, ch in (("mask", MaskConfig(), (1, 1)), ("inpainter", InpainterConfig(), (2, 1))):
        net, _ = build_unet(cfg.encoder_name, ch[0], ch[1], None)
        s = cfg.crop_size if name == "inpainter" else cfg.image_size
        with FlopCounterMode(display=False) as counter:
            net(torch.rand(1, ch[0], s, s)).sum().backward()
        out[name] = counter.get_total_flops()
    return out


def series_work(flops: dict) -> dict:
    """Per stage of the default series on the full data: (training FLOPs, images loaded, images
    prepared once before training: the disk cache of the training images, the inpainter's crop pool)."""
    mask, inp, gan = MaskConfig(), InpainterConfig(), GanConfig()
    return {
        "03 mask model": (flops["mask"] * TRAIN_IMAGES * mask.epochs, TRAIN_IMAGES * mask.epochs,
                          TRAIN_IMAGES if mask.cache else 0),
        "04 inpainter": (flops["inpainter"] * inp.samples_per_epoch * inp.epochs, inp.samples_per_epoch * inp.epochs,
                         inp.crop_pool() if inp.cache else 0),
        "05 GAN": (flops["gan"] * TRAIN_IMAGES * gan.epochs, TRAIN_IMAGES * gan.epochs, TRAIN_IMAGES if gan.cache else 0),
    }


def _row(platform: str, stage: str, compute_h: float, loader_h: float, how: str, prepare_h: float = 0.0) -> dict:
    return {"platform": platform, "stage": stage, "hours": round(prepare_h + max(compute_h, loader_h), 2),
            "bound": "compute" if compute_h >= loader_h else "data loader",
            "prepared_once_h": round(prepare_h, 2), "how": how}


def _stage_row(platform: str, stage: str, work: tuple, flop_rate: float, loader_img_s: dict, prepare_img_s: dict,
               workers: int, how: str) -> dict:
    """One stage's row: its FLOPs at flop_rate, its images at loader_img_s[stage] per worker and
    what it prepares once (caches, the crop pool) at prepare_img_s[stage] per worker."""
    f, images, once = work
    prepare_h = once / (prepare_img_s[stage] * workers) / 3600 if once else 0.0
    return _row(platform, stage, f / flop_rate / 3600, images / (loader_img_s[stage] * workers) / 3600, how, prepare_h)


def series_estimate(flops: dict, loader_img_s_per_worker: dict, prepare_img_s_per_worker: dict) -> pd.DataFrame:
    """Hours of the default series on the full data per platform, estimated from FLOPs and the
    loaders' measured rates per worker ({stage: images/s}); a stage's hours are the larger of
    its compute and its loading, plus what it prepares once before training (its cache, the
    crop pool, at prepare_img_s_per_worker[stage] per worker)."""
    rows = []
    for platform, (card, gpus, cores) in PLATFORMS.items():
        for stage, work in series_work(flops).items():
            rows.append(_stage_row(platform, stage, work, SUSTAINED[card] * gpus, loader_img_s_per_worker,
                                   prepare_img_s_per_worker, platform_workers(gpus, cores), "estimated"))
    return pd.DataFrame(rows)


def series_measured(flops: dict, gan_img_s: float, loader_img_s: dict, prepare_img_s: dict, workers: int,
                    name: str) -> pd.DataFrame:
    """Hours of the default series on this GPU from its measured GAN step rate (the other
    stages at the same FLOP rate) and this machine's loaders with `workers` workers."""
    return pd.DataFrame([_stage_row(name, stage, work, gan_img_s * flops["gan"], loader_img_s, prepare_img_s, workers,
                                    "measured") for stage, work in series_work(flops).items()])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/bench_train.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--steps", type=int, default=5, help="timed GAN steps per setting")
    ap.add_argument("--batch", type=int, default=4, help="GAN batch size")
    ap.add_argument("--loader-batches", type=int, default=30, help="timed loader batches of 8 (one epoch at most)")
    args = ap.parse_args(argv)
    out = Path(args.out or REPO_ROOT / "runs" / time.strftime("bench-train-%Y%m%d-%H%M%S"))
    dev = device()
    amp = "bf16" if dev.type == "cpu" else "auto"
    rows, rates = [], {}
    for size in (256, 512):
        for cache in (False, True):
            for workers in (1, 2):
                rate = loader_rate(size, args.loader_batches, workers, cache)
                rates[size, cache, workers] = rate
                rows.append({"what": f"loader {size} px, {'cached' if cache else 'decoded'}, {workers} worker(s)",
                             "device": "cpu", "img_per_s": rate})
                print(rows[-1], flush=True)
        for setting in ("off", amp):
            rate = gan_step_rate(size, setting, args.steps, args.batch, dev)
            label = Precision(setting, dev).describe()
            rows.append({"what": f"GAN step {size} px, {label}", "device": str(dev), "img_per_s": rate})
            rates[size, setting] = rate
            print(rows[-1], flush=True)
    for how in ("decoded", "gray cached", "pool"):
        for workers in (1, 2):
            rates["inpainter", how, workers] = inpainter_rate(args.loader_batches, workers, how)
            rows.append({"what": f"inpainter crops {InpainterConfig().crop_size} px, {INPAINTER_LOADERS[how]}, "
                                 f"{workers} worker(s)", "device": "cpu", "img_per_s": rates["inpainter", how, workers]})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    flops = flops_per_image(256)
    # per worker: the 1-worker rates (the mask model's loader is the GAN's without the prefill)
    cached_256 = rates[256, True, 1]
    per_worker = {"03 mask model": cached_256, "04 inpainter": rates["inpainter", "pool", 1], "05 GAN": cached_256}
    # done once per dataset: decoding every training image into the cache (at the decoding loader's
    # rate, Telea prefill included: the mask model's is a little faster), drawing the pool's crops
    prepare = {"03 mask model": rates[256, False, 1], "04 inpainter": rates["inpainter", "gray cached", 1],
               "05 GAN": rates[256, False, 1]}
    estimate = series_estimate(flops, per_worker, prepare)
    if dev.type == "cuda":  # this GPU's own numbers: the autocast GAN step at 256 px
        estimate = pd.concat([estimate, series_measured(flops, rates[256, amp], per_worker, prepare,
                                                        max(1, loader_workers(-1)), torch.cuda.get_device_name(dev))],
                             ignore_index=True)
    total = estimate.groupby("platform", sort=False).hours.sum().round(1).to_dict()
    record = {"device": str(dev), "throughput": rows, "flops_per_training_image_256px": flops,
              "sustained_flops_assumed": SUSTAINED, "platforms": PLATFORMS, "series_estimate": estimate.to_dict("records"),
              "series_hours": total, "defaults": {k: as_dict(c()) for k, c in
                                                  (("mask", MaskConfig), ("inpainter", InpainterConfig),
                                                   ("gan", GanConfig))}}
    atomic_write(out / "bench_train.json", lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2)))
    md = (to_markdown(table.round(2)) + "\n\nTraining FLOPs per image at 256 px: "
          + ", ".join(f"{k} {v / 1e9:.1f} GFLOP" for k, v in flops.items())
          + "\n\n" + to_markdown(estimate) + f"\n\nDefault series, hours in all: {total}\n")
    for path in (out / "bench_train.md", REPO_ROOT / "docs" / "bench_train.md"):  # docs/: the latest
        atomic_write(path, lambda tmp: Path(tmp).write_text(md))
    print(md)
    print(f"== written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
