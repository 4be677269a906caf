"""The restoration pipeline on one image: find the lost region, then fill it and colourise.

A trained pipeline is one file, `best.pt` of a GAN run (or the shipped default model):
    {"kind": "restorer", "generator": {arch, size, output, mask_input, state_dict},
     "mask_model": {arch, size, threshold, state_dict}, "epoch", "metrics", "config"}
so it can be copied anywhere and loaded without the run folders it came from.
Each network runs at its training scale (training size / 512) of the image's own
size, so any image size works; the result is resized back to the original size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .colour import compose
from .dacon_data import IMAGE_SIZE
from .masking import predict_mask, resize, to_tensor, work_shape
from .models import model_from_arch


def generator_input(gray: torch.Tensor, mask: torch.Tensor, mask_input: bool) -> torch.Tensor:
    return torch.cat([gray, mask], dim=1) if mask_input else gray


@torch.inference_mode()
def colourise(generator: torch.nn.Module, record: dict, gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Restore a (H, W) uint8 gray image given its lost region; returns (H, W, 3) uint8 RGB."""
    x, m = to_tensor(gray), to_tensor(mask.astype(np.uint8) * 255)
    shape = work_shape(*gray.shape, record["size"] / IMAGE_SIZE[0])
    raw = generator(generator_input(resize(x, shape), resize(m, shape), record["mask_input"]))
    rgb = compose(resize(raw, gray.shape), x, m, record["output"])
    return (rgb[0].permute(1, 2, 0) * 255).round().clamp(0, 255).byte().numpy()


def load_bundle(path) -> dict:
    """Read a pipeline file (or a run folder holding best.pt) with a clear error when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no trained pipeline here; train one with notebook 04 "
                                "(or pass --run to a folder holding best.pt)")
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ValueError(f"{path}: unreadable model file ({type(e).__name__}: {e})") from e
    if not isinstance(bundle, dict) or bundle.get("kind") != "restorer":
        raise ValueError(f"{path}: not a restoration pipeline (expected best.pt of a GAN run)")
    bundle["path"] = str(path)
    return bundle


class Restorer:
    """Mask model + generator, ready to restore gray images of any size on the CPU or a GPU."""

    def __init__(self, bundle: dict):
        self.bundle = bundle
        self.gen_record, self.mask_record = bundle["generator"], bundle["mask_model"]
        self.generator = model_from_arch(self.gen_record["arch"])
        self.generator.load_state_dict(self.gen_record["state_dict"])
        self.mask_model = model_from_arch(self.mask_record["arch"])
        self.mask_model.load_state_dict(self.mask_record["state_dict"])
        self.generator.float().eval()
        self.mask_model.float().eval()

    @classmethod
    def load(cls, path) -> "Restorer":
        return cls(load_bundle(path))

    def describe(self) -> str:
        b, g = self.bundle, self.gen_record
        score = b.get("metrics", {}).get("score")
        return (f"{b.get('path', 'pipeline')}: generator {g['arch']['encoder_name']} ({g['output']} output"
                f"{', mask channel' if g['mask_input'] else ''}, {g['size']} px), epoch {b.get('epoch')}"
                + (f", validation score {score:.4f}" if score is not None else "")
                + f"; mask model {self.mask_record['arch']['encoder_name']}")

    def find_mask(self, gray: np.ndarray) -> np.ndarray:
        scale = self.mask_record["size"] / IMAGE_SIZE[0]
        return predict_mask(self.mask_model, gray, scale, self.mask_record["threshold"])

    def restore(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(restored RGB uint8 (H, W, 3), predicted lost region bool (H, W))."""
        mask = self.find_mask(gray)
        return colourise(self.generator, self.gen_record, gray, mask), mask
