"""The restoration pipeline on one image: find the lost region, then fill it and colourise.

A trained pipeline is one file, `best.pt` of a GAN run (or the shipped default model):
    {"kind": "restorer", "generator": {arch, size, output, mask_input, state_dict},
     "mask_model": {arch, size, threshold, state_dict}, "epoch", "metrics", "config"}
so it can be copied anywhere and loaded without the run folders it came from.
Each network runs at its training scale (training size / 512) of the image's own
size, so any image size works; the result is resized back to the original size.
"""
from __future__ import annotations

import ctypes
import gc
from pathlib import Path

import numpy as np
import torch

from .checkpoints import load_file
from .colour import compose
from .dacon_data import IMAGE_SIZE
from .inpaint import telea
from .masking import predict_mask
from .models import device, model_from_arch
from .tensors import bands, device_of, shrink, to_tensor, to_uint8, upsample_rows, work_shape
from .tiling import forward_tiled


def generator_input(base: torch.Tensor, mask: torch.Tensor, mask_input: bool) -> torch.Tensor:
    """What the generator sees: the (prefilled) gray image, and the lost region if asked."""
    return torch.cat([base, mask], dim=1) if mask_input else base


def run_generator(generator: torch.nn.Module, inp: torch.Tensor, tta: bool = False) -> torch.Tensor:
    """Generator output, tiled for large inputs; tta=True averages it with that of the mirrored input."""
    raw = forward_tiled(generator, inp)
    if tta:
        raw = (raw + forward_tiled(generator, inp.flip(-1)).flip(-1)) / 2
    return raw


@torch.inference_mode()
def generator_output(generator: torch.nn.Module, record: dict, gray: np.ndarray, mask: np.ndarray,
                     tta: bool = False) -> tuple[torch.Tensor, np.ndarray]:
    """The generator's raw output at its working scale, (B, 3, h, w) float, and the full-size
    luminance it builds on inside the region (the input, or its Telea fill), (B, H, W) uint8.

    gray, mask: a stack (B, H, W) of uint8 images and their bool lost regions. The
    generator runs at its training scale; with record["prefill"] it is shown the image
    with the region Telea-filled at that scale.
    """
    shape = work_shape(*gray.shape[-2:], record["size"] / IMAGE_SIZE[0])
    small, small_mask = shrink(gray, shape), shrink(mask.astype(np.uint8) * 255, shape)
    if record.get("prefill"):
        base_s = np.stack([telea(g, k > 0, grow=1) for g, k in zip(small, small_mask)])
        base = np.stack([telea(g, k) for g, k in zip(gray, mask)])
    else:
        base_s, base = small, gray
    inp = generator_input(to_tensor(base_s), to_tensor(small_mask), record["mask_input"])
    return run_generator(generator, inp.to(device_of(generator)), tta).float().cpu(), base


def compose_full(raw: torch.Tensor, record: dict, gray: np.ndarray, mask: np.ndarray,
                 base: np.ndarray) -> np.ndarray:
    """The restored (B, H, W, 3) uint8 images from the small generator output, composed band
    by band at full size so that no full-size float tensor is ever made (helpers.colour)."""
    out = np.empty((*gray.shape, 3), np.uint8)
    region_luma = record.get("region_luma", "generator")
    for a, b in bands(gray.shape[1], gray.shape[0] * gray.shape[2]):
        rgb = compose(upsample_rows(raw, gray.shape[-2:], a, b), to_tensor(gray[:, a:b]),
                      to_tensor(mask[:, a:b].astype(np.uint8) * 255), record["output"],
                      to_tensor(base[:, a:b]), region_luma)
        out[:, a:b] = to_uint8(rgb)
    return out


def colourise(generator: torch.nn.Module, record: dict, gray: np.ndarray, mask: np.ndarray,
              tta: bool = False) -> np.ndarray:
    """Restore a (H, W) uint8 gray image given its lost region; returns (H, W, 3) uint8 RGB.

    A stack of same-sized images (B, H, W) with masks (B, H, W) goes through the
    networks as one batch and gives (B, H, W, 3). With record["prefill"], the
    generator's luminance correction is added to a Telea fill made at full size.
    """
    single = gray.ndim == 2
    gray, mask = (gray[None], mask[None]) if single else (gray, mask)
    raw, base = generator_output(generator, record, gray, mask, tta)
    out = compose_full(raw, record, gray, mask, base)
    return out[0] if single else out


def release_memory() -> None:
    """Hand memory freed by Python, torch and NumPy back to the system (glibc keeps it otherwise),
    so that the process's peak stays near what is in use; a no-op where glibc is absent."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def load_bundle(path) -> dict:
    """Read a pipeline file (or a run folder holding best.pt) with a clear error when it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no trained pipeline here; train one with notebook 04 "
                                "(or pass --run to a folder holding best.pt)")
    bundle = load_file(path, "model file")
    if bundle.get("kind") != "restorer":
        raise ValueError(f"{path}: not a restoration pipeline (expected best.pt of a GAN run)")
    bundle["path"] = str(path)
    return bundle


class Restorer:
    """Mask model + generator, ready to restore gray images of any size.

    backend="onnx" runs both networks with ONNX Runtime on the CPU (the fast path,
    helpers.onnx_backend); backend="torch" runs them in PyTorch, on the GPU when there
    is one. tta: flip test-time augmentation; None keeps what the model was validated with.
    """

    def __init__(self, bundle: dict, tta: bool | None = None, backend: str = "onnx"):
        if backend not in ("onnx", "torch"):
            raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")
        self.bundle, self.backend = bundle, backend
        self.gen_record, self.mask_record = bundle["generator"], bundle["mask_model"]
        self.tta = self.gen_record.get("tta", False) if tta is None else tta
        self.generator = self._network(self.gen_record)
        self.mask_model = self._network(self.mask_record)
        if backend == "onnx":  # the sessions hold their own copies of the weights
            release_memory()

    def _network(self, record: dict):
        net = model_from_arch(record["arch"])
        net.load_state_dict(record["state_dict"])  # float16 weights (the shipped model) become float32 here
        net.float().eval()
        if self.backend == "onnx":
            from .onnx_backend import OnnxNet
            return OnnxNet(net, record["arch"]["in_channels"])
        return net.to(device())

    @classmethod
    def load(cls, path, tta: bool | None = None, backend: str = "onnx") -> "Restorer":
        return cls(load_bundle(path), tta, backend)

    def describe(self) -> str:
        b, g = self.bundle, self.gen_record
        score = b.get("metrics", {}).get("score")
        return (f"{b.get('path', 'pipeline')}: generator {g['arch']['encoder_name']} ({g['output']} output"
                f"{', mask channel' if g['mask_input'] else ''}{', Telea prefill' if g.get('prefill') else ''}"
                f"{', region luma kept' if g.get('region_luma') == 'base' else ''}"
                f"{', flip TTA' if self.tta else ''}, {g['size']} px), epoch {b.get('epoch')}"
                + (f", validation score {score:.4f}" if score is not None else "")
                + f"; mask model {self.mask_record['arch']['encoder_name']}; {self.backend} backend")

    def find_mask(self, gray: np.ndarray) -> np.ndarray:
        scale = self.mask_record["size"] / IMAGE_SIZE[0]
        return predict_mask(self.mask_model, gray, scale, self.mask_record["threshold"])

    def restore(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(restored RGB uint8 (H, W, 3), predicted lost region bool (H, W))."""
        mask = self.find_mask(gray)
        return colourise(self.generator, self.gen_record, gray, mask, self.tta), mask
