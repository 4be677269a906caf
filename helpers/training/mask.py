"""Training the mask model (notebook 03): an smp U-Net that finds the lost region from the input alone.

Target: input != gray(truth), the score's own mask. Loss: BCE with logits, AdamW with
cosine decay. Validation each epoch: IoU and Dice at full resolution, of the network's
thresholded mask ("coarse") and after snapping to the flat fill (what inference uses).
best.pt keeps the model with the best snapped IoU (helpers.pipeline.model_files, kind
"mask_model") and is what notebooks 05 and 06 load. Settings: helpers.core.config.MaskConfig.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch.nn.functional as F
from tqdm.auto import tqdm

from helpers.core.config import as_dict
from helpers.core.images import read_gray, save_png
from helpers.data.dacon import load_pair, lost_region_mask
from helpers.networks.devices import loader_workers, prepare_input
from helpers.networks.models import build_network
from helpers.pipeline.masking import iou_dice, mask_probability, predict_mask, snap_radius, snap_to_fill
from helpers.pipeline.model_files import MaskFile, MaskSpec, arch_of
from helpers.training.datasets import RestorationDataset, on_device
from helpers.training.loop import OneNetworkStage, Run


def evaluate(model, rows: pd.DataFrame, spec: MaskSpec, progress: bool = False) -> pd.DataFrame:
    """Per-image IoU and Dice at full size, before ('coarse') and after snapping to the fill."""
    model.eval()
    out = []
    for inp_path, gt_path in tqdm(list(zip(rows.input_image_path_abs, rows.gt_image_path_abs)),
                                  desc="validate", disable=not progress, leave=False):
        gray, gt = load_pair(inp_path, gt_path)
        true = lost_region_mask(gray, gt)
        coarse = mask_probability(model, gray, spec.scale) > spec.threshold
        snapped = snap_to_fill(gray, coarse, radius=snap_radius(spec.scale))
        iou_c, dice_c = iou_dice(coarse, true)
        iou, dice = iou_dice(snapped, true)
        out.append({"name": Path(inp_path).name, "iou_coarse": iou_c, "dice_coarse": dice_c,
                    "iou": iou, "dice": dice, "area": float(true.mean())})
    return pd.DataFrame(out)


class MaskStage(OneNetworkStage):
    name = "mask"
    best_key = "iou"

    def build(self, provenance):
        cfg = self.cfg
        return self.adopt(*build_network(cfg.encoder_name, 1, 1, cfg.encoder_weights, cfg.weights_fallback,
                                         (provenance or {}).get("mask")))

    def spec(self, state_dict=None) -> MaskSpec:
        return MaskSpec(arch=arch_of(self.arch), size=self.cfg.image_size, threshold=self.cfg.threshold,
                        state_dict=state_dict)

    def dataset(self):
        return RestorationDataset(self.train_rows, size=self.cfg.image_size, augment=True, seed=self.cfg.seed,
                                  cache=self.cfg.cache, workers=loader_workers(self.cfg.num_workers),
                                  progress=self.progress)

    def train_step(self, batch: dict, epoch: int) -> dict:
        gray, target = on_device(batch, self.device, ("input", "mask"))
        x = prepare_input(gray, self.device)
        with self.precision.autocast():
            logits = self.trained(x)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target)
        self.update(loss)
        return {"loss": loss.detach()}

    def validate(self, epoch: int, run: Run) -> dict:
        val = evaluate(self.model, self.val_rows, self.spec(), self.progress)
        metrics = {k: float(v) for k, v in val.drop(columns=["name", "area"]).mean().items()}
        for k in ("iou", "dice", "iou_coarse"):
            run.log(f"val/{k}", metrics[k], epoch)
        return metrics

    def summary(self, epoch: int, m: dict) -> str:
        return (f"epoch {epoch}: bce {m['loss']:.4f}  val IoU {m['iou']:.4f} (coarse {m['iou_coarse']:.4f})  "
                f"Dice {m['dice']:.4f}  {m['seconds']:.0f}s")

    def best_file(self, epoch: int, metrics: dict, run: Run) -> MaskFile:
        return MaskFile(mask=self.spec(self.model.state_dict()), epoch=epoch, metrics=metrics,
                        config=as_dict(self.cfg), provenance=run.provenance)


def write_masks(model, spec: MaskSpec, input_paths, out_dir, progress: bool = True) -> list[Path]:
    """Predict (and snap) the lost region of each input and save it as a 0/255 PNG of the same name."""
    written = []
    for p in tqdm(list(input_paths), desc="test masks", disable=not progress):
        gray = read_gray(p)
        mask = predict_mask(model, gray, spec.scale, spec.threshold)
        written.append(save_png(mask.astype(np.uint8) * 255, Path(out_dir) / Path(p).name))
    return written
