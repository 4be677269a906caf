"""The trained-pipeline file: one definition, one save, one load.

Three kinds of file, all plain dicts of tensors and settings (torch.save, read back with
weights_only=True by helpers.networks.torch_files.load_file):
    a mask model  (best.pt of notebook 03)   kind "mask_model":
        {arch, size, threshold, state_dict, epoch, metrics, config, provenance}
    an inpainter  (best.pt of notebook 04)   kind "inpainter":
        {arch, size, state_dict, epoch, metrics, config, provenance}
    a pipeline    (best.pt of notebook 05, models/restorer_v*.pt)   kind "restorer":
        {generator: {arch, size, output, mask_input, prefill, region_luma, tta, chroma, state_dict},
         mask_model: {arch, size, threshold, state_dict}, [inpainter: {arch, size, state_dict}],
         epoch, metrics, config, provenance}
so a pipeline can be copied anywhere and loaded without the run folders it came from.
`arch` rebuilds the network (smp U-Net encoder, channels); `size` is the image size it
was trained at, so it runs at `scale` = size / 512 of any image; `provenance` says which
weights each encoder started from (files before it kept that inside arch / config).
Weights are float32 as trained, float16, or, to fit a shipped file, int8 with one
float16 scale per output channel ({"int8": tensor, "scale": tensor} in place of a
tensor, `quantize`); all come back as float32 when a network is built.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch

from helpers.core.config import CHROMA, OUTPUTS, REGION_LUMA
from helpers.data.layout import IMAGE_SIZE
from helpers.networks.models import model_from_arch
from helpers.networks.torch_files import load_file, save

ARCH_KEYS = ("encoder_name", "in_channels", "classes")


@dataclass
class NetworkSpec:
    """A trained U-Net: how to rebuild it, the scale it runs at, its weights."""
    arch: dict
    size: int
    state_dict: dict | None = None

    def __post_init__(self) -> None:
        """Values read from a file are checked here: a wrong one is a clear error, not a traceback
        later (or a network quietly run at 32 px for a size of 0)."""
        if not isinstance(self.arch, dict) or any(k not in self.arch for k in ARCH_KEYS):
            raise ValueError(f"its arch must name {', '.join(ARCH_KEYS)}, got {self.arch!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 32 or self.size % 32:
            raise ValueError(f"its size must be a positive multiple of 32 (the size it was trained at), got {self.size!r}")

    @property
    def scale(self) -> float:
        """The network's resolution relative to the image's (training size / 512)."""
        return self.size / IMAGE_SIZE[0]

    @property
    def in_channels(self) -> int:
        return self.arch["in_channels"]

    def network(self) -> torch.nn.Module:
        """The network with its weights, float32 (float16 and int8 files are cast back), in eval mode."""
        try:
            net = model_from_arch(self.arch)
            net.load_state_dict(dequantize(self.state_dict))
        except (RuntimeError, KeyError, TypeError, AttributeError) as e:  # weights of another network
            raise ValueError(f"its weights do not fit the network it names ({self.arch.get('encoder_name')}, "
                             f"{self.arch.get('in_channels')} channels in): {str(e).splitlines()[0][:200]}") from None
        return net.float().eval()

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # tensors as they are, no copy

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class MaskSpec(NetworkSpec):
    threshold: float = 0.5


@dataclass
class GeneratorSpec(NetworkSpec):
    """The generator and the GanConfig settings marked inference=True (a test keeps the two in step).
    The defaults are what a file means when it lacks a setting: files written before the setting
    existed were trained the seed's way (RGB output, no mask channel, no prefill), whatever
    GanConfig's defaults are now."""
    output: str = "rgb"
    mask_input: bool = False
    prefill: bool = False
    region_luma: str = "generator"
    tta: bool = False
    chroma: str = "regress"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, choices in (("output", OUTPUTS), ("chroma", CHROMA), ("region_luma", REGION_LUMA)):
            if getattr(self, name) not in choices:
                raise ValueError(f"generator {name} must be one of {choices}, got {getattr(self, name)!r}")
        if self.chroma == "bins" and self.output != "ycbcr":
            raise ValueError("a generator with chroma 'bins' must have output 'ycbcr'")


def quantize(state_dict: dict, kind: str) -> dict:
    """Weights for a smaller file: "float16", or "int8" (weight tensors of two or more dimensions
    as int8 with a float16 scale per output channel, symmetric; the rest float16)."""
    out = {}
    for k, v in dequantize(state_dict).items():
        if not v.is_floating_point():
            out[k] = v
        elif kind == "int8" and v.ndim >= 2:
            scale = v.abs().amax(dim=tuple(range(1, v.ndim)), keepdim=True).clamp(min=1e-12) / 127
            out[k] = {"int8": (v / scale).round().clamp(-127, 127).to(torch.int8), "scale": scale.half()}
        elif kind in ("float16", "int8"):
            out[k] = v.half()
        else:
            raise ValueError(f"weights must be 'float16' or 'int8', got {kind!r}")
    return out


def dequantize(state_dict: dict) -> dict:
    """Plain tensors again (int8 entries times their scale, as float32)."""
    return {k: v["int8"].float() * v["scale"].float() if isinstance(v, dict) else v for k, v in state_dict.items()}


def arch_of(arch: dict) -> dict:
    """The part of an architecture record that rebuilds the network."""
    return {k: arch[k] for k in ARCH_KEYS}


@dataclass
class TrainedFile:
    """What every kind of file (mask model, inpainter, pipeline) holds besides the networks."""
    epoch: int | None = None
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)  # network -> where its encoder's weights came from
    notes: dict = field(default_factory=dict)  # e.g. inference_changes, exported_from (shipped models)
    path: str | None = None  # where it was read from (not saved)

    def _common(self) -> dict:
        return {"epoch": self.epoch, "metrics": self.metrics, "config": self.config,
                "provenance": self.provenance, **self.notes}


@dataclass
class MaskFile(TrainedFile):
    mask: MaskSpec | None = None

    def to_dict(self) -> dict:
        return {"kind": "mask_model", **self.mask.to_dict(), **self._common()}


@dataclass
class InpainterFile(TrainedFile):
    inpainter: NetworkSpec | None = None

    def to_dict(self) -> dict:
        return {"kind": "inpainter", **self.inpainter.to_dict(), **self._common()}


@dataclass
class PipelineFile(TrainedFile):
    generator: GeneratorSpec | None = None
    mask: MaskSpec | None = None
    inpainter: NetworkSpec | None = None  # None: the lost region keeps the Telea fill

    def to_dict(self) -> dict:
        d = {"kind": "restorer", "generator": self.generator.to_dict(), "mask_model": self.mask.to_dict()}
        if self.inpainter is not None:
            d["inpainter"] = self.inpainter.to_dict()
        return {**d, **self._common()}


_COMMON = ("kind", "epoch", "metrics", "config", "provenance")


def legacy_provenance(**archs) -> dict:
    """Where each network's weights came from, in files and checkpoints written before `provenance`:
    they kept it in the network's arch record (with its weights note)."""
    return {part: dict(arch) for part, arch in archs.items() if arch and "weights_note" in arch}


def _best(path) -> Path:
    """A run folder's best.pt, or the file itself."""
    path = Path(path)
    return path / "best.pt" if path.is_dir() else path


def file_kind(path) -> str | None:
    """What a model file (or a run folder's best.pt) holds: "mask_model", "inpainter" or "restorer"."""
    path = _best(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model file here")
    return load_file(path, "model file").get("kind")


def _read(path, kind: str, what: str, hint: str) -> dict:
    path = _best(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {what} here; {hint}")
    d = load_file(path, f"{what} file")
    if d.get("kind") != kind:
        raise ValueError(f"{path}: not a {what} file (kind={d.get('kind')!r})")
    d["path"] = str(path)
    return d


def _checked(path, what: str, build):
    """build(), with a wrong or missing value of the file named as the file's error."""
    try:
        return build()
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a usable {what} file ({e if not isinstance(e, KeyError) else f'no {e}'})") from None


def load_mask(path) -> MaskFile:
    """A mask model file (or a run folder holding best.pt)."""
    d = _read(path, "mask_model", "mask model", "run notebook 03 (mask generator) first")
    notes = {k: v for k, v in d.items() if k not in _COMMON + ("path",) and k not in MaskSpec.__dataclass_fields__}
    return _checked(d["path"], "mask model", lambda: MaskFile(
        epoch=d.get("epoch"), metrics=d.get("metrics", {}), config=d.get("config", {}),
        provenance=d.get("provenance") or legacy_provenance(mask=d.get("arch")), notes=notes,
        path=d["path"], mask=MaskSpec.from_dict(d)))


def load_inpainter(path) -> InpainterFile:
    """An inpainter file (or a run folder holding best.pt)."""
    d = _read(path, "inpainter", "inpainter", "run notebook 04 (inpainter) first")
    notes = {k: v for k, v in d.items() if k not in _COMMON + ("path",) and k not in NetworkSpec.__dataclass_fields__}
    return _checked(d["path"], "inpainter", lambda: InpainterFile(
        epoch=d.get("epoch"), metrics=d.get("metrics", {}), config=d.get("config", {}),
        provenance=d.get("provenance", {}), notes=notes, path=d["path"], inpainter=NetworkSpec.from_dict(d)))


def load_pipeline(path) -> PipelineFile:
    """A pipeline file (or a run folder holding best.pt)."""
    d = _read(path, "restorer", "trained pipeline",
              "train one with notebook 05 (or pass --run to a folder holding best.pt)")
    notes = {k: v for k, v in d.items() if k not in _COMMON + ("path", "generator", "mask_model", "inpainter")}
    return _checked(d["path"], "trained pipeline", lambda: PipelineFile(
        epoch=d.get("epoch"), metrics=d.get("metrics", {}), config=d.get("config", {}),
        provenance=d.get("provenance") or legacy_provenance(
            generator=(d.get("config") or {}).get("arch"), mask=d["mask_model"].get("arch")),
        notes=notes, path=d["path"], generator=GeneratorSpec.from_dict(d["generator"]),
        mask=MaskSpec.from_dict(d["mask_model"]),
        inpainter=NetworkSpec.from_dict(d["inpainter"]) if d.get("inpainter") else None))


def load_part(source, part: str):
    """(network, its provenance, the file read) for `part` ("mask" or "inpainter") from a run or
    file of that network, or from a pipeline file (a shipped model) that holds one."""
    found = load_pipeline(source) if file_kind(source) == "restorer" else (
        load_mask(source) if part == "mask" else load_inpainter(source))
    spec = getattr(found, part)
    if spec is None:
        raise ValueError(f"{found.path}: this pipeline has no {part} to take")
    return spec, found.provenance.get(part, {}), str(found.path)


def write(f: MaskFile | InpainterFile | PipelineFile, path, check=None) -> Path:
    """Save a mask model, inpainter or pipeline file atomically (`check(tmp)` may refuse it first)."""
    return save(f.to_dict(), path, check)
