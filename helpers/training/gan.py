"""Training the generator (notebook 05): an smp U-Net against a PatchGAN, pix2pix style.

The defaults (helpers.core.config.GanConfig) are the project's best recipe for a GPU; the
seed's recipe (gray in, RGB out, adversarial BCE + 100 x L1, Adam 1e-4 (G) / 2e-4 (D),
betas (0.5, 0.999)) is notebooks/params/seed_recipe.yaml. Recipes are settings
(helpers.core.recipes names them):
    output="ycbcr"      keep the known luminance (helpers.pipeline.colour)
    mask_input=True     the lost region as a second input channel
    adv_start_epoch=k   L1 only before epoch k, then the GAN (adv_weight=0: never)
    prefill=True        show the generator the region Telea-filled (helpers.pipeline.inpaint)
    chroma="bins"       classify chroma over quantised bins with a rebalanced cross-entropy
                        and decode the annealed mean (helpers.pipeline.chroma_bins), instead of
                        regressing it with L1 alone; ce_weight weighs that loss
    hue_weight=w        add w x the soft hue-histogram loss (helpers.training.losses), the score's C
    tta=True            validate (and later infer) with flip test-time augmentation
    region_luma="base"  keep the (prefilled) input's luminance inside the region too;
                        the generator adds colour only
    freeze_encoder=True train the decoder only (the pretrained encoder and its batch-norm statistics
                        stay as they started, but for the first convolution)
    photo_crops=N       train on N new crops an epoch of the training split's source photos (the
                        sample dataset) instead of its fixed images (helpers.training.datasets)
    ema=d               validate and keep an exponential moving average of the generator's
                        weights (decay d per step; 0: off), which steadies the colours
Validation runs the whole pipeline as inference does, with the lost region found by
the mask model of notebook 03 (and, with inpainter_run, filled by the learned inpainter
of notebook 04), and reports the DACON score, its parts and the median hue error on the
truths' coloured pixels. best.pt is a complete pipeline (helpers.pipeline.model_files, kind
"restorer"), the inpainter included.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR
from helpers.core import runs
from helpers.core.config import GanConfig, as_dict, field_names
from helpers.core.images import read_rgb, save_png
from helpers.data.dacon import data_dir, load_pair, lost_region_mask
from helpers.data.photos import photo_kinds, source_photos
from helpers.networks.devices import Precision, loader_workers, prepare_input, prepare_module
from helpers.networks.models import PatchDiscriminator, build_network
from helpers.pipeline import chroma_bins
from helpers.pipeline.colour import compose, decode, out_channels, rgb_to_ycbcr
from helpers.pipeline.masking import predict_mask
from helpers.pipeline.model_files import (GeneratorSpec, MaskSpec, PipelineFile, arch_of, dequantize, load_inpainter,
                                          load_mask, load_pipeline)
from helpers.pipeline.restore import colourise, generator_input
from helpers.scoring.metrics import ImageScore, UndefinedScore, aggregate, hue_error_summary, hue_errors, score_image
from helpers.training.datasets import PhotoRestorationCrops, RestorationDataset, on_device
from helpers.training.loop import Run, Stage, wrap_ddp
from helpers.training.losses import hue_correlation_loss


def validation_set(rows, mask_model, mask: MaskSpec, progress: bool, kinds=None) -> list[dict]:
    """Validation images with the lost region the mask model finds (computed once per run, kept
    bit-packed: 32 KB an image, so all of DACON's 5,920 fit in 200 MB; the images are read again
    at each validation). kinds: each row's kind of source photo (helpers.data.photos.photo_kinds)
    or None."""
    items = []
    kinds = [None] * len(rows) if kinds is None else list(kinds)
    for inp, gt, kind in tqdm(list(zip(rows.input_image_path_abs, rows.gt_image_path_abs, kinds)),
                              desc="validation masks", disable=not progress, leave=False):
        gray, _ = load_pair(inp, gt)  # the truth is read to check it, used later
        items.append({"name": Path(inp).name, "input": inp, "gt": gt, "kind": kind,
                      "mask": np.packbits(predict_mask(mask_model, gray, mask.scale, mask.threshold))})
    return items


def by_kind(scores: list, items: list[dict]) -> dict:
    """score and C over each kind of source photo ("score_photos", "C_photos_extra"...) when the
    items hold more than one kind: a split's mean can hide a gain on one kind and a loss on the
    other (the sample test split holds everyday photos only)."""
    kinds = sorted({it["kind"] for it in items if it.get("kind")})
    out = {}
    if len(kinds) > 1:
        for kind in kinds:
            part = aggregate([s for s, it in zip(scores, items) if it.get("kind") == kind])
            out.update({f"score_{kind}": part["score"], f"C_{kind}": part["C"]})
    return out


def validate(generator, spec: GeneratorSpec, items: list[dict], progress: bool,
             inpainter=None) -> tuple[dict, list]:
    """Mean S, M, C, score and the median hue error over the validation items, and
    (input, prediction, truth) of the first few."""
    generator.eval()
    scores, shown, undefined = [], [], []
    hue_hist = np.zeros(181, np.int64)
    for it in tqdm(items, desc="validate", disable=not progress, leave=False):
        gray, gt = load_pair(it["input"], it["gt"])
        mask = np.unpackbits(it["mask"], count=gray.size).reshape(gray.shape).astype(bool)
        pred = colourise(generator, spec, gray, mask, spec.tta, inpainter)
        hue_hist += np.bincount(hue_errors(gt, pred), minlength=181)
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
    means = aggregate(scores)
    del means["n"]
    means.update(by_kind(scores, items))
    hue = hue_error_summary(hue_hist)
    means["hue_err"] = hue["hue_err"] if hue["hue_err"] is not None else float("nan")
    return means, shown


def sample_grid(shown: list) -> np.ndarray:
    """Rows of input | prediction | truth as one uint8 RGB image (for TensorBoard and PNG)."""
    rows = [np.concatenate([np.repeat(g[..., None], 3, 2), p, t], axis=1) for g, p, t in shown]
    return np.concatenate(rows, axis=0)


def start_from_gray(G, chroma: str = "regress") -> None:
    """Zero the output layer: the untrained generator answers gray (zero chroma), not noise.

    With chroma bins the bias makes the bins next to gray the likeliest, so the annealed
    mean starts at gray too."""
    head = G.segmentation_head[0]
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    if chroma == "bins":
        with torch.no_grad():
            d2 = ((chroma_bins.CENTRES - 0.5) ** 2).sum(dim=1)
            head.bias[1:] = -d2 / (2 * chroma_bins.SIGMA ** 2)


def start_from_generator(G, arch: dict, source, cfg: GanConfig) -> dict:
    """Load a trained generator's weights into G (fine-tuning it); a ValueError naming `source`
    when its network is another or its channels mean something else (RGB and YCbCr outputs both
    have 3). Returns G's provenance record, saying where it started."""
    found = load_pipeline(source).generator
    if arch_of(found.arch) != arch_of(arch):
        raise ValueError(f"{source}: its generator is {arch_of(found.arch)}, this run's is {arch_of(arch)}")
    meaning = ("output", "chroma", "mask_input", "prefill")
    differ = {k: (getattr(found, k), getattr(cfg, k)) for k in meaning if getattr(found, k) != getattr(cfg, k)}
    if differ:
        raise ValueError(f"{source}: its generator was trained with other settings (its, this run's): {differ}")
    G.load_state_dict(dequantize(found.state_dict))
    note = f"fine-tuned from the generator of {source} ({found.arch.get('weights_note', 'unrecorded weights')})"
    print(f"{arch['encoder_name']} generator: {note}")
    return {**arch, "weights_note": note}


def freeze_encoder(G) -> None:
    """Keep the U-Net's encoder as it started (pretrained features that a few hundred photos cannot
    overfit, and no gradient through it: faster steps), except its first convolution, the only
    layer that sees the mask channel (its ImageNet filters for it are zero)."""
    G.encoder.requires_grad_(False)
    first = next(m for m in G.encoder.modules() if isinstance(m, torch.nn.Conv2d))
    first.requires_grad_(True)


def train_step(G, D, opt_g, opt_d, batch: dict, cfg: GanConfig, adversarial: bool, precision: Precision,
               bin_weights: torch.Tensor | None = None) -> dict:
    """One pix2pix update: D on real vs fake pairs, then G on fooling D + weighted L1 (+ hue,
    + the rebalanced chroma-bin cross-entropy with chroma="bins").

    G and D may be DDP-wrapped; the networks run under the precision's autocast and the
    losses in float32. D is frozen during G's update (as pix2pix does), and that pass
    goes through D's own module, outside DDP: its gradients there would be thrown away.
    Returns detached losses (no host sync).
    """
    dev = next(G.parameters()).device
    gray, mask, gt, base = on_device(batch, dev, ("input", "mask", "gt", "base"))
    cond = prepare_input(generator_input(base, mask, cfg.mask_input), dev)
    with precision.autocast():
        raw = G(cond).float()
    fake = compose(decode(raw, cfg.output, cfg.chroma), gray, mask, cfg.output, base, cfg.region_luma)
    zero = torch.zeros((), device=dev)
    loss_d = zero
    if adversarial:
        with precision.autocast():
            real_logits, fake_logits = D(cond, gt).float(), D(cond, fake.detach()).float()
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        precision.backward(loss_d, opt_d)
    loss_l1 = F.l1_loss(fake, gt)
    loss_adv = zero
    d_alone = getattr(D, "module", D)
    if adversarial:
        d_alone.requires_grad_(False)
        with precision.autocast():
            logits = d_alone(cond, fake).float()
        loss_adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    loss_hue = hue_correlation_loss(fake, gt) if cfg.hue_weight > 0 else zero
    loss_ce = zero
    if cfg.chroma == "bins":
        loss_ce = chroma_bins.classification_loss(raw[:, 1:], rgb_to_ycbcr(gt)[:, 1:], bin_weights.to(dev))
    loss_g = (cfg.adv_weight * loss_adv + cfg.l1_weight * loss_l1 + cfg.hue_weight * loss_hue
              + cfg.ce_weight * loss_ce)
    precision.backward(loss_g, opt_g)
    precision.update()
    d_alone.requires_grad_(True)
    return {"loss_G_adv": loss_adv.detach(), "loss_G_l1": loss_l1.detach(), "loss_G_hue": loss_hue.detach(),
            "loss_G_ce": loss_ce.detach(), "loss_D": loss_d.detach()}


def bin_weights_from(rows, size: int, limit: int = 256) -> torch.Tensor:
    """Class rebalancing weights from the chroma of (up to `limit`) training truths at `size` px."""
    def chromas():
        for path in list(rows.gt_image_path_abs)[:limit]:
            rgb = np.array(Image.fromarray(read_rgb(path)).resize((size, size), Image.Resampling.BILINEAR))
            yield rgb_to_ycbcr(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)[:, 1:]
    return chroma_bins.rebalancing_weights(chroma_bins.bin_frequencies(chromas()))


def generator_spec(cfg: GanConfig, arch: dict, state_dict=None) -> GeneratorSpec:
    """What best.pt records of the generator: its architecture and the settings inference needs."""
    inference = {k: getattr(cfg, k) for k in field_names(GanConfig, "inference") if k != "image_size"}
    return GeneratorSpec(arch=arch_of(arch), size=cfg.image_size, state_dict=state_dict, **inference)


class GanStage(Stage):
    name = "generator"
    best_key = "score"

    def __init__(self, cfg: GanConfig, data_root=None, checkpoint_root=None, progress: bool = True):
        super().__init__(cfg, data_root, checkpoint_root, progress)
        # notebooks 03 and 04's runs: on Kaggle possibly in their attached outputs
        self.mask_file = load_mask(runs.find_run(cfg.mask_run, checkpoint_root))
        self.mask_model = self.mask_file.mask.network().to(self.device)
        self.inpainter_file = (load_inpainter(runs.find_run(cfg.inpainter_run, checkpoint_root))
                               if cfg.inpainter_run else None)
        self.inpainter = self.inpainter_file.inpainter.network().to(self.device) if self.inpainter_file else None

    def build(self, provenance):
        cfg = self.cfg
        in_ch = 2 if cfg.mask_input else 1
        G, arch = build_network(cfg.encoder_name, in_ch, out_channels(cfg.output, cfg.chroma), cfg.encoder_weights,
                                cfg.weights_fallback, (provenance or {}).get("generator"))
        start_from_gray(G, cfg.chroma)
        if cfg.init_generator and provenance is None:  # a resumed run loads its own weights next
            arch = start_from_generator(G, arch, cfg.init_generator, cfg)
        if cfg.freeze_encoder:
            freeze_encoder(G)
        self.bin_weights = bin_weights_from(self.train_rows, cfg.image_size) if cfg.chroma == "bins" else None
        D = PatchDiscriminator(in_channels=in_ch + 3)
        prepare_module(G, self.device)
        prepare_module(D, self.device)
        betas = (cfg.beta1, cfg.beta2)
        self.G, self.D = G, D
        trained = [p for p in G.parameters() if p.requires_grad]
        self.optimizers = {"G": torch.optim.Adam(trained, lr=cfg.lr_g, betas=betas),
                           "D": torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=betas)}
        self.modules = {"G": G, "D": D}
        if cfg.ema:
            self.modules["G_ema"] = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        self.G_out = self.modules["G_ema"].module if cfg.ema else G  # the generator that is validated and kept
        self.spec = generator_spec(cfg, arch)
        provenance = {"generator": arch, "mask": self.mask_file.provenance.get("mask")}
        if self.inpainter_file is not None:
            provenance["inpainter"] = self.inpainter_file.provenance.get("inpainter")
        return provenance

    def train(self) -> None:
        super().train()
        if self.cfg.freeze_encoder:  # frozen batch-norm statistics too: the encoder stays what it was
            self.G.encoder.eval()

    def distribute(self, dist) -> None:
        self.G_train, self.D_train = wrap_ddp(self.G, dist), wrap_ddp(self.D, dist)

    def dataset(self):
        if self.cfg.photo_crops:
            photos = source_photos(data_dir(self.data_root), self.train_rows, (PHOTOS_DIR, EXTRA_PHOTOS_DIR))
            print(f"training on {self.cfg.photo_crops} new crops an epoch of the training split's {len(photos)} photos")
            return PhotoRestorationCrops(photos, self.cfg.photo_crops, self.cfg.image_size, self.cfg.prefill,
                                         self.cfg.seed)
        return RestorationDataset(self.train_rows, size=self.cfg.image_size, augment=True, prefill=self.cfg.prefill,
                                  seed=self.cfg.seed, cache=self.cfg.cache,
                                  workers=loader_workers(self.cfg.num_workers), progress=self.progress)

    def prepare_validation(self) -> None:
        self.val_items = validation_set(self.val_rows, self.mask_model, self.mask_file.mask, self.progress,
                                        photo_kinds(data_dir(self.data_root), self.val_rows))

    def train_step(self, batch: dict, epoch: int) -> dict:
        cfg = self.cfg
        adversarial = cfg.adv_weight > 0 and epoch >= cfg.adv_start_epoch
        losses = train_step(self.G_train, self.D_train, self.optimizers["G"], self.optimizers["D"], batch, cfg,
                            adversarial, self.precision, self.bin_weights)
        if cfg.ema:
            self.modules["G_ema"].update_parameters(self.G)
        return losses

    def validate(self, epoch: int, run: Run) -> dict:
        val, shown = validate(self.G_out, self.spec, self.val_items, self.progress, self.inpainter)
        for k in ("S", "M", "C", "score", *(k for k in val if k.startswith(("score_", "C_")))):
            run.log(f"val/{k}", val[k], epoch)
        grid = sample_grid(shown)
        run.writer.add_image("val/input_prediction_truth", grid, epoch, dataformats="HWC")
        save_png(grid, run.dir / "samples" / f"epoch_{epoch:04d}.png")
        return val

    def summary(self, epoch: int, m: dict) -> str:
        losses = " ".join(f"{k.removeprefix('loss_')} {v:.4f}" for k, v in m.items() if k.startswith("loss_"))
        return (f"epoch {epoch}: {losses} | val score {m['score']:.4f} (S {m['S']:.4f} M {m['M']:.4f} "
                f"C {m['C']:.4f}, hue error {m['hue_err']:.0f} deg) | {m['seconds']:.0f}s")

    def best_file(self, epoch: int, metrics: dict, run: Run) -> PipelineFile:
        generator = GeneratorSpec(**{**vars(self.spec), "state_dict": self.G_out.state_dict()})
        inpainter = self.inpainter_file.inpainter if self.inpainter_file is not None else None
        return PipelineFile(generator=generator, mask=self.mask_file.mask, inpainter=inpainter, epoch=epoch,
                            metrics=metrics, config=as_dict(self.cfg), provenance=run.provenance)
