"""The pretrained default pipeline shipped with the project (the newest models/restorer_vN.pt).

`python -m helpers.predict` and the web app use it when no run is given, so a user's photos can be
restored out of the box, offline. It is a GAN run's best.pt (mask model, learned
inpainter, generator) with smaller weights (float16, or int8 with per-channel scales)
to stay within 25 MB; they are cast back to float32 on loading. models/MODEL_CARD.md
says how each was trained and what it scores; the older ones stay for comparison
(`--run models/restorer_v2.pt`).
`python -m helpers.pretrained` exports a run as one (`export`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from helpers import REPO_ROOT
from helpers.core.runs import run_path
from helpers.pipeline.model_files import InpainterFile, MaskFile, dequantize, load_part, load_pipeline, quantize, write

# oldest first; a release joins when it beats the default on the sample test split (scripts/train_default_model.py)
SHIPPED = {v: REPO_ROOT / "models" / f"restorer_{v}.pt" for v in ("v1", "v2")}
MAX_BYTES = 25_000_000


def shipped_models() -> dict[str, Path]:
    """The shipped models present in this checkout, oldest first."""
    return {v: p for v, p in SHIPPED.items() if p.exists()}


DEFAULT_MODEL = next(reversed(shipped_models().values()), SHIPPED["v1"])  # the newest shipped


def export(run, out=DEFAULT_MODEL, weights: str = "float16", inpainter=None, mask=None, **inference) -> Path:
    """Write a run's best pipeline with smaller weights (atomically); refuses a file over 25 MB.

    run: a GAN run folder or a pipeline file (a shipped model too). weights: "float16", or
    "int8" (per-channel, helpers.pipeline.model_files.quantize) when three networks would not fit
    in float16. inpainter: a learned inpainter whose fill replaces the pipeline's in the lost
    region (a PREFILL generator only: it was trained to colour a filled region). mask: a mask
    model that replaces the pipeline's. Each is a run folder, its file, or a pipeline file (a
    shipped model) whose network is taken, e.g. to pair a new generator with v2's mask model
    and inpainter. inference: generator settings to change (tta, region_luma), e.g. when
    validation found them better for this model than what it was trained with.
    """
    pipeline = load_pipeline(run)
    notes = {"inference_changes": inference, "weights": weights, "exported_from": str(Path(run).resolve())}
    unknown = set(inference) - {"tta", "region_luma"}
    if unknown:
        raise ValueError(f"only tta and region_luma can be changed at export, not {sorted(unknown)}")
    if inpainter is not None and not pipeline.generator.prefill:
        raise ValueError(f"{run}: its generator was trained without PREFILL; a learned fill would be new to it")
    for part, source in (("mask", mask), ("inpainter", inpainter)):
        if source is not None:
            spec, provenance, path = load_part(source, part)
            setattr(pipeline, part, spec)
            pipeline.provenance = {**pipeline.provenance, part: provenance}
            notes[f"{part}_from"] = path
    g, m = pipeline.generator, pipeline.mask
    pipeline.generator = dataclasses.replace(g, **inference, state_dict=quantize(g.state_dict, weights))
    pipeline.mask = dataclasses.replace(m, state_dict=quantize(m.state_dict, weights))
    if pipeline.inpainter is not None:
        pipeline.inpainter = dataclasses.replace(pipeline.inpainter,
                                                 state_dict=quantize(pipeline.inpainter.state_dict, weights))
    pipeline.notes = {**pipeline.notes, **notes}
    out = Path(out)

    def within_budget(tmp: Path) -> None:  # checked before the file replaces anything at `out`
        if tmp.stat().st_size > MAX_BYTES:
            raise ValueError(f"{out}: {tmp.stat().st_size / 1e6:.1f} MB is over the {MAX_BYTES / 1e6:.0f} MB "
                             "budget for a shipped model (nothing written)")
    return write(pipeline, out, check=within_budget)


def unpack(pipeline_path, root) -> dict[str, Path]:
    """A pipeline's mask model and learned inpainter as run folders under `root` (`mask/best.pt`,
    `inpainter/best.pt`, float32 weights), so that a new generator trains on the very networks a
    shipped model uses (MASK_RUN, INPAINTER_RUN); a run folder that exists already is kept as it is."""
    pipeline = load_pipeline(pipeline_path)

    def float32(spec):
        return dataclasses.replace(spec, state_dict={k: v.float() if v.is_floating_point() else v
                                                     for k, v in dequantize(spec.state_dict).items()})
    common = dict(epoch=pipeline.epoch, config=pipeline.config, notes={"unpacked_from": str(Path(pipeline_path).resolve())})
    parts = {"mask": MaskFile(mask=float32(pipeline.mask),
                              provenance={"mask": pipeline.provenance.get("mask", {})}, **common)}
    if pipeline.inpainter is not None:
        parts["inpainter"] = InpainterFile(
            inpainter=float32(pipeline.inpainter),
            provenance={"inpainter": pipeline.provenance.get("inpainter", {})}, **common)
    out = {}
    for run, part in parts.items():
        out[run] = Path(root) / run
        if not (out[run] / "best.pt").exists():
            write(part, out[run] / "best.pt")
    return out


def default_run() -> Path:
    """The shipped pretrained pipeline, else the local GAN run of notebook 05."""
    return DEFAULT_MODEL if DEFAULT_MODEL.exists() else run_path("gan")
