"""The restoration pipeline on one image: find the lost region, then fill it and colourise.

A trained pipeline is one file (helpers.pipeline.model_files): `best.pt` of a GAN run or the
shipped default model. Each network runs at its training scale (training size / 512)
of the image's own size, so any image size works; the result is composed back at the
original size.
"""
from __future__ import annotations

import ctypes
import gc

import numpy as np
import torch

from helpers.networks.devices import device
from helpers.networks.tensors import bands, device_of, shrink, to_tensor, to_uint8, upsample_rows, work_shape
from helpers.networks.tiling import forward_tiled
from helpers.pipeline.colour import compose, decode
from helpers.pipeline.inpaint import fill, telea
from helpers.pipeline.masking import predict_mask
from helpers.pipeline.model_files import GeneratorSpec, MaskSpec, NetworkSpec, PipelineFile, load_pipeline


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
def generator_output(generator: torch.nn.Module, spec: GeneratorSpec, gray: np.ndarray, mask: np.ndarray,
                     tta: bool = False, inpainter=None) -> tuple[torch.Tensor, np.ndarray]:
    """The generator's decoded output at its working scale, (B, 3, h, w) in [0, 1]
    (helpers.pipeline.colour.decode), and the full-size luminance it builds on inside the region,
    (B, H, W) uint8: the input, or with spec.prefill its fill (Telea's, or the learned
    inpainter's when one is given).

    gray, mask: a stack (B, H, W) of uint8 images and their bool lost regions. The
    generator runs at its training scale; with spec.prefill it is shown the image
    with the region Telea-filled at that scale, as in training.
    """
    shape = work_shape(*gray.shape[-2:], spec.scale)
    small, small_mask = shrink(gray, shape), shrink(mask.astype(np.uint8) * 255, shape)
    if spec.prefill:
        base_s = np.stack([telea(g, k > 0, grow=1) for g, k in zip(small, small_mask)])
        base = fill(gray, mask, inpainter)
    else:
        base_s, base = small, gray
    inp = generator_input(to_tensor(base_s), to_tensor(small_mask), spec.mask_input)
    raw = run_generator(generator, inp.to(device_of(generator)), tta).float().cpu()
    return decode(raw, spec.output, spec.chroma), base


def compose_full(decoded: torch.Tensor, spec: GeneratorSpec, gray: np.ndarray, mask: np.ndarray,
                 base: np.ndarray) -> np.ndarray:
    """The restored (B, H, W, 3) uint8 images from the small decoded generator output, composed
    band by band at full size so that no full-size float tensor is ever made (helpers.pipeline.colour)."""
    out = np.empty((*gray.shape, 3), np.uint8)
    for a, b in bands(gray.shape[1], gray.shape[0] * gray.shape[2]):
        rgb = compose(upsample_rows(decoded, gray.shape[-2:], a, b), to_tensor(gray[:, a:b]),
                      to_tensor(mask[:, a:b].astype(np.uint8) * 255), spec.output,
                      to_tensor(base[:, a:b]), spec.region_luma)
        out[:, a:b] = to_uint8(rgb)
    return out


def colourise(generator: torch.nn.Module, spec: GeneratorSpec, gray: np.ndarray, mask: np.ndarray,
              tta: bool = False, inpainter=None) -> np.ndarray:
    """Restore a (H, W) uint8 gray image given its lost region; returns (H, W, 3) uint8 RGB.

    A stack of same-sized images (B, H, W) with masks (B, H, W) goes through the
    networks as one batch and gives (B, H, W, 3). With spec.prefill, the region's
    luminance starts from a fill made at full size (the learned inpainter's if given,
    else Telea's) and region_luma says whether the generator's correction is added.
    """
    single = gray.ndim == 2
    gray, mask = (gray[None], mask[None]) if single else (gray, mask)
    decoded, base = generator_output(generator, spec, gray, mask, tta, inpainter)
    out = compose_full(decoded, spec, gray, mask, base)
    return out[0] if single else out


def release_memory() -> None:
    """Hand memory freed by Python, torch and NumPy back to the system (glibc keeps it otherwise),
    so that the process's peak stays near what is in use; a no-op where glibc is absent."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Restorer:
    """Mask model + generator, ready to restore gray images of any size.

    backend="onnx" runs the networks with ONNX Runtime on the CPU (the fast CPU path,
    helpers.networks.onnx_backend); backend="torch" runs them in PyTorch, on the GPU when there
    is one; "auto" picks PyTorch on a GPU, else ONNX Runtime. tta: flip test-time
    augmentation; None keeps what the model was validated with.
    """

    def __init__(self, pipeline: PipelineFile, tta: bool | None = None, backend: str = "onnx"):
        if backend == "auto":
            backend = "torch" if device().type == "cuda" else "onnx"
        if backend not in ("onnx", "torch"):
            raise ValueError(f"backend must be 'onnx', 'torch' or 'auto', got {backend!r}")
        self.pipeline, self.backend = pipeline, backend
        self.gen_spec: GeneratorSpec = pipeline.generator
        self.mask_spec: MaskSpec = pipeline.mask
        self.tta = self.gen_spec.tta if tta is None else tta
        self.generator = self._network(self.gen_spec)
        self.mask_model = self._network(self.mask_spec)
        self.inpainter = self._network(pipeline.inpainter) if pipeline.inpainter is not None else None
        if backend == "onnx":  # the sessions hold their own copies of the weights
            release_memory()

    def _network(self, spec: NetworkSpec):
        try:
            net = spec.network()  # float16 weights (the shipped model) become float32 here
        except ValueError as e:
            raise ValueError(f"{self.pipeline.path}: {e}") from None
        if self.backend == "onnx":
            from helpers.networks.onnx_backend import OnnxNet  # ONNX Runtime is loaded only for this backend
            return OnnxNet(net, spec.in_channels)
        return net.to(device())

    @classmethod
    def load(cls, path, tta: bool | None = None, backend: str = "onnx") -> "Restorer":
        return cls(load_pipeline(path), tta, backend)

    def describe(self) -> str:
        p, g = self.pipeline, self.gen_spec
        score = p.metrics.get("score")
        return (f"{p.path or 'pipeline'}: generator {g.arch['encoder_name']} ({g.output} output"
                f"{', mask channel' if g.mask_input else ''}{', Telea prefill' if g.prefill else ''}"
                f"{', region luma kept' if g.region_luma == 'base' else ''}"
                f"{', chroma bins' if g.chroma == 'bins' else ''}"
                f"{', flip TTA' if self.tta else ''}, {g.size} px), epoch {p.epoch}"
                + (f", validation score {score:.4f}" if score is not None else "")
                + f"; mask model {self.mask_spec.arch['encoder_name']}"
                + ("; learned inpainter" if self.inpainter is not None else "; Telea fill")
                + f"; {self.backend} backend")

    def find_mask(self, gray: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The lost region (bool); threshold: P(lost) above which a pixel is lost (default: the model's)."""
        return predict_mask(self.mask_model, gray, self.mask_spec.scale,
                            self.mask_spec.threshold if threshold is None else threshold)

    def restore(self, gray: np.ndarray, threshold: float | None = None,
                tta: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(restored RGB uint8 (H, W, 3), predicted lost region bool (H, W)); a stack (B, H, W) gives
        stacks. threshold: as in find_mask; tta: flip test-time augmentation (default: this Restorer's)."""
        mask = self.find_mask(gray, threshold)
        tta = self.tta if tta is None else tta
        return colourise(self.generator, self.gen_spec, gray, mask, tta, self.inpainter), mask
