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
from .inpaint import telea
from .masking import device_of, predict_mask, resize, to_tensor, work_shape
from .models import device, model_from_arch
from .tiling import forward_tiled


def generator_input(base: torch.Tensor, mask: torch.Tensor, mask_input: bool) -> torch.Tensor:
    """What the generator sees: the (prefilled) gray image, and the lost region if asked."""
    return torch.cat([base, mask], dim=1) if mask_input else base


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) float in [0, 1] -> (B, H, W) for C = 1, else (B, H, W, C), uint8."""
    a = (t.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).byte().numpy()
    return a[..., 0] if t.shape[1] == 1 else a


def run_generator(generator: torch.nn.Module, inp: torch.Tensor, tta: bool = False) -> torch.Tensor:
    """Generator output, tiled for large inputs; tta=True averages it with that of the mirrored input."""
    raw = forward_tiled(generator, inp)
    if tta:
        raw = (raw + forward_tiled(generator, inp.flip(-1)).flip(-1)) / 2
    return raw


@torch.inference_mode()
def colourise(generator: torch.nn.Module, record: dict, gray: np.ndarray, mask: np.ndarray,
              tta: bool = False) -> np.ndarray:
    """Restore a (H, W) uint8 gray image given its lost region; returns (H, W, 3) uint8 RGB.

    A stack of same-sized images (B, H, W) with masks (B, H, W) goes through the
    networks as one batch and gives (B, H, W, 3).

    The generator runs at its training scale; with record["prefill"] it is shown the
    image with the region Telea-filled at that scale, and its luminance correction is
    added to a Telea fill made at full size.
    """
    single = gray.ndim == 2
    gray, mask = (gray[None], mask[None]) if single else (gray, mask)
    x, m = to_tensor(gray), to_tensor(mask.astype(np.uint8) * 255)
    shape = work_shape(*gray.shape[-2:], record["size"] / IMAGE_SIZE[0])
    xs, ms = resize(x, shape), resize(m, shape)
    if record.get("prefill"):
        small, small_mask = to_uint8(xs), to_uint8(ms) > 0
        base_s = to_tensor(np.stack([telea(g, k, grow=1) for g, k in zip(small, small_mask)]))
        base = to_tensor(np.stack([telea(g, k) for g, k in zip(gray, mask)]))
    else:
        base_s, base = xs, x
    inp = generator_input(base_s, ms, record["mask_input"]).to(device_of(generator))
    raw = run_generator(generator, inp, tta).float().cpu()
    rgb = to_uint8(compose(resize(raw, gray.shape[-2:]), x, m, record["output"], base,
                           record.get("region_luma", "generator")))
    return rgb[0] if single else rgb


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
