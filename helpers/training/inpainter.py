"""Training the learned inpainter (notebook 04): the lost region's luminance from its surroundings.

An smp U-Net sees the gray image with the region prefilled by Telea and the region
itself, at full resolution, and adds a correction to the prefill inside the region (its
output layer starts at zero, so it starts as Telea). The loss is what the score's M
rewards: L1 plus (1 - SSIM) inside the region, no adversarial texture (a plausible
texture in the wrong place scores below a smooth fill). Pairs are unlimited: regions
are drawn on the fly on the training truths' gray (helpers.training.datasets.InpaintingCrops).
Validation fills the validation images' true regions and reports the score's M on the
luminance (`M`) beside Telea's (`M_telea`); best.pt keeps the best M
(helpers.pipeline.model_files, kind "inpainter"). Settings: helpers.core.config.InpainterConfig.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from helpers.core.config import InpainterConfig, as_dict
from helpers.core.images import to_gray
from helpers.data.dacon import load_pair, lost_region_mask
from helpers.data.layout import IMAGE_SIZE
from helpers.data.photos import list_photos
from helpers.networks.devices import loader_workers, prepare_input
from helpers.networks.models import build_network
from helpers.pipeline.inpaint import learned_fill, telea
from helpers.pipeline.model_files import InpainterFile, NetworkSpec, arch_of, dequantize, load_part
from helpers.scoring.metrics import m_luminance
from helpers.training.datasets import InpaintingCrops, on_device
from helpers.training.loop import OneNetworkStage, Run
from helpers.training.losses import region_loss


@torch.inference_mode()
def fill_scores(rows: pd.DataFrame, model=None, progress: bool = False, desc: str = "validate") -> pd.DataFrame:
    """Per image of `rows` (input and truth paths), its true region filled: the region's area and
    the score's M on the luminance of Telea's fill (model None) or of the learned inpainter's, with
    the learned fill's mean error in gray levels. Images are read as they are used (all of DACON's
    5,920 validation images would take 4.6 GB held in memory)."""
    if model is not None:
        model.eval()
    out = []
    pairs = list(zip(rows.input_image_path_abs, rows.gt_image_path_abs))
    for inp, gt in tqdm(pairs, desc=desc, disable=not progress, leave=False):
        gray, truth = load_pair(inp, gt)
        mask, truth = lost_region_mask(gray, truth), to_gray(truth)
        row = {"name": Path(inp).name, "area": float(mask.mean())}
        if model is None:
            row["M_telea"] = m_luminance(truth, telea(gray, mask), mask)
        else:
            filled = learned_fill(model, gray, mask)
            row["M"] = m_luminance(truth, filled, mask)
            row["val_l1"] = float(np.abs(filled[mask].astype(np.int16) - truth[mask]).mean())
        out.append(row)
    return pd.DataFrame(out)


def start_from_inpainter(model, arch: dict, source) -> dict:
    """Load a trained inpainter's weights into `model` (fine-tuning it); a ValueError naming
    `source` when its network is another. Returns the provenance record, saying where it started."""
    found, provenance, path = load_part(source, "inpainter")
    if arch_of(found.arch) != arch_of(arch):
        raise ValueError(f"{path}: its inpainter is {arch_of(found.arch)}, this run's is {arch_of(arch)}")
    model.load_state_dict(dequantize(found.state_dict))  # load_state_dict casts to the parameters' float32
    note = f"fine-tuned from the inpainter of {source} ({provenance.get('weights_note', 'unrecorded weights')})"
    print(f"{arch['encoder_name']} inpainter: {note}")
    return {**arch, "weights_note": note}


class InpainterStage(OneNetworkStage):
    name = "inpainter"
    best_key = "M"

    def __init__(self, cfg: InpainterConfig, data_root=None, checkpoint_root=None, progress: bool = True):
        super().__init__(cfg, data_root, checkpoint_root, progress)
        self.extra = [str(p) for p in list_photos(cfg.extra_photos)] if cfg.extra_photos else []

    def build(self, provenance):
        cfg = self.cfg
        model, arch = build_network(cfg.encoder_name, 2, 1, cfg.encoder_weights, cfg.weights_fallback,
                                    (provenance or {}).get("inpainter"))
        head = model.segmentation_head[0]  # start as Telea: no correction
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
        if cfg.init_inpainter and provenance is None:  # a resumed run loads its own weights next
            arch = start_from_inpainter(model, arch, cfg.init_inpainter)
        return self.adopt(model, arch)

    def spec(self, state_dict=None) -> NetworkSpec:
        return NetworkSpec(arch=arch_of(self.arch), size=IMAGE_SIZE[0], state_dict=state_dict)  # full resolution

    def dataset(self):
        return InpaintingCrops(list(self.train_rows.gt_image_path_abs), self.extra, self.cfg.crop_size,
                               self.cfg.samples_per_epoch, self.cfg.seed, cache=self.cfg.cache, pool=self.cfg.crop_pool(),
                               workers=loader_workers(self.cfg.num_workers), progress=self.progress)

    def prepare_validation(self) -> None:
        """Telea's M on the validation images (the baseline), once per run."""
        self.telea_m = float(fill_scores(self.val_rows, None, self.progress, "validation regions").M_telea.mean())

    def train_step(self, batch: dict, epoch: int) -> dict:
        x, mask, target = on_device(batch, self.device, ("input", "mask", "target"))
        with self.precision.autocast():
            correction = self.trained(prepare_input(torch.cat([x, mask], dim=1), self.device))
        pred = (x + correction.float()).clamp(0, 1)
        losses = region_loss(pred, target, mask, self.cfg.ssim_weight)
        self.update(losses["total"])
        return {"loss": losses["total"].detach(), "loss_l1": losses["l1"].detach(), "ssim": losses["ssim"].detach()}

    def validate(self, epoch: int, run: Run) -> dict:
        val = fill_scores(self.val_rows, self.model, self.progress)
        metrics = {"M": float(val.M.mean()), "M_telea": self.telea_m, "val_l1": float(val.val_l1.mean())}
        for k in ("M", "val_l1"):
            run.log(f"val/{k}", metrics[k], epoch)
        return metrics

    def summary(self, epoch: int, m: dict) -> str:
        return (f"epoch {epoch}: loss {m['loss']:.4f} (L1 {m['loss_l1']:.4f}, SSIM {m['ssim']:.4f}) | val M "
                f"{m['M']:.4f} (Telea {m['M_telea']:.4f}), L1 {m['val_l1']:.2f} levels | {m['seconds']:.0f}s")

    def best_file(self, epoch: int, metrics: dict, run: Run) -> InpainterFile:
        return InpainterFile(inpainter=self.spec(self.model.state_dict()), epoch=epoch, metrics=metrics,
                             config=as_dict(self.cfg), provenance=run.provenance)
