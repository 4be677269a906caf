"""Training the learned inpainter (notebook 04): the lost region's luminance from its surroundings.

An smp U-Net sees the gray image with the region prefilled by Telea and the region
itself, at full resolution, and adds a correction to the prefill inside the region (its
output layer starts at zero, so it starts as Telea). The loss is what the score's M
rewards: L1 plus (1 - SSIM) inside the region, no adversarial texture (a plausible
texture in the wrong place scores below a smooth fill). Pairs are unlimited: regions
are drawn on the fly on the training truths' gray (helpers.torch_data.InpaintingCrops).
Validation fills the validation images' true regions and reports the score's M on the
luminance (`M`) beside Telea's (`M_telea`); best.pt keeps the best M
(helpers.pipeline_file, kind "inpainter"). Settings: helpers.config.InpainterConfig.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .config import InpainterConfig, as_dict
from .dacon_data import data_dir, load_pair, lost_region_mask
from .images import to_gray
from .inpaint import learned_fill, telea
from .metrics import masked_ssim_score
from .devices import loader_workers, prepare_input
from .models import build_network
from .pipeline_file import InpainterFile, NetworkSpec, arch_of
from .sample_data import PHOTO_EXTS
from .splits import read_split
from .torch_data import InpaintingCrops, on_device
from .training import OneNetworkStage, Run

SSIM_WINDOW = 7  # the score's SSIM window


def masked_ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (7x7 uniform windows, as skimage) over the mask's pixels; (N, 1, H, W) in [0, 1]."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda t: F.avg_pool2d(t, SSIM_WINDOW, stride=1, padding=SSIM_WINDOW // 2, count_include_pad=False)
    mu_p, mu_t = pool(pred), pool(target)
    var_p = pool(pred * pred) - mu_p ** 2
    var_t = pool(target * target) - mu_t ** 2
    cov = pool(pred * target) - mu_p * mu_t
    ssim = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p ** 2 + mu_t ** 2 + c1) * (var_p + var_t + c2))
    return (ssim * mask).sum() / mask.sum().clamp(min=1)


def region_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, ssim_weight: float) -> dict:
    l1 = ((pred - target).abs() * mask).sum() / mask.sum().clamp(min=1)
    ssim = masked_ssim(pred, target, mask)
    return {"l1": l1, "ssim": ssim, "total": l1 + ssim_weight * (1 - ssim)}


def m_luminance(gray_truth: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> float:
    """The score's M on the luminance alone (both images as gray RGB): the fill's share of the score."""
    rgb = lambda g: np.repeat(g[..., None], 3, axis=2)
    return masked_ssim_score(rgb(gray_truth), rgb(filled), mask)


def extra_photo_paths(folder: str) -> list[str]:
    if not folder:
        return []
    paths = sorted(str(p) for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_EXTS)
    if not paths:
        raise FileNotFoundError(f"{folder}: no photos (.jpg/.png) to draw crops from")
    return paths


class InpainterStage(OneNetworkStage):
    name = "inpainter"
    best_key = "M"

    def __init__(self, cfg: InpainterConfig, data_root=None, checkpoint_root=None, progress: bool = True):
        super().__init__(cfg, data_root, checkpoint_root, progress)
        root = data_dir(data_root)
        self.train_rows = read_split(root, "train_split.csv")
        self.val_rows = read_split(root, "val_split.csv", cfg.val_limit)
        self.extra = extra_photo_paths(cfg.extra_photos)

    def build(self, provenance):
        cfg = self.cfg
        model, arch = build_network(cfg.encoder_name, 2, 1, cfg.encoder_weights, cfg.weights_fallback,
                                    (provenance or {}).get("inpainter"))
        head = model.segmentation_head[0]  # start as Telea: no correction
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
        return self.adopt(model, arch)

    def spec(self, state_dict=None) -> NetworkSpec:
        return NetworkSpec(arch=arch_of(self.arch), size=self.cfg.image_size, state_dict=state_dict)

    def dataset(self):
        return InpaintingCrops(list(self.train_rows.gt_image_path_abs), self.extra, self.cfg.crop_size,
                               self.cfg.samples_per_epoch, self.cfg.seed, cache=self.cfg.cache, pool=self.cfg.crop_pool(),
                               workers=loader_workers(self.cfg.num_workers), progress=self.progress)

    def val_items(self, desc: str):
        """(gray input, gray truth, true region) of each validation image, read as they are used:
        all of DACON's 5,920 would take 4.6 GB held in memory."""
        pairs = list(zip(self.val_rows.input_image_path_abs, self.val_rows.gt_image_path_abs))
        for inp, gt in tqdm(pairs, desc=desc, disable=not self.progress, leave=False):
            gray, truth = load_pair(inp, gt)
            yield gray, to_gray(truth), lost_region_mask(gray, truth)

    def prepare_validation(self) -> None:
        """Telea's M on the validation images (the baseline), once per run."""
        self.telea_m = float(np.mean([m_luminance(truth, telea(gray, mask), mask)
                                      for gray, truth, mask in self.val_items("validation regions")]))

    def train_step(self, batch: dict, epoch: int) -> dict:
        x, mask, target = on_device(batch, self.device, ("input", "mask", "target"))
        with self.precision.autocast():
            correction = self.trained(prepare_input(torch.cat([x, mask], dim=1), self.device))
        pred = (x + correction.float()).clamp(0, 1)
        losses = region_loss(pred, target, mask, self.cfg.ssim_weight)
        self.update(losses["total"])
        return {"loss": losses["total"].detach(), "loss_l1": losses["l1"].detach(), "ssim": losses["ssim"].detach()}

    @torch.inference_mode()
    def validate(self, epoch: int, run: Run) -> dict:
        self.model.eval()
        m, l1 = [], []
        for gray, truth, mask in self.val_items("validate"):
            filled = learned_fill(self.model, gray, mask)
            m.append(m_luminance(truth, filled, mask))
            l1.append(float(np.abs(filled[mask].astype(np.int16) - truth[mask]).mean()))
        metrics = {"M": float(np.mean(m)), "M_telea": self.telea_m, "val_l1": float(np.mean(l1))}
        for k in ("M", "val_l1"):
            run.log(f"val/{k}", metrics[k], epoch)
        return metrics

    def summary(self, epoch: int, m: dict) -> str:
        return (f"epoch {epoch}: loss {m['loss']:.4f} (L1 {m['loss_l1']:.4f}, SSIM {m['ssim']:.4f}) | val M "
                f"{m['M']:.4f} (Telea {m['M_telea']:.4f}), L1 {m['val_l1']:.2f} levels | {m['seconds']:.0f}s")

    def best_file(self, epoch: int, metrics: dict, run: Run) -> InpainterFile:
        return InpainterFile(inpainter=self.spec(self.model.state_dict()), epoch=epoch, metrics=metrics,
                             config=as_dict(self.cfg), provenance=run.provenance)


def train(config: InpainterConfig | dict, data_root=None, checkpoint_root=None, progress: bool = True):
    """Train (or resume) an inpainter run (helpers.launch: in this process, or several with `processes`)."""
    from .launch import train as launch_train
    return launch_train("inpainter", config, data_root, checkpoint_root, progress)