"""The pretrained default pipeline shipped with the project (models/restorer_v1.pt).

`python -m helpers.predict` uses it when no --run is given, so a user's photos can be
restored out of the box, offline. It is a GAN run's best.pt (mask model + generator)
with the weights stored in float16 to stay small; they are cast back to float32 on
loading. models/MODEL_CARD.md says how it was trained and what it scores.

    python -m helpers.pretrained --run drive_checkpoints/<run> [--out models/restorer_v1.pt]
        [--tta on|off] [--region-luma generator|base]   (inference settings, if validation chose others)
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from . import REPO_ROOT
from .pipeline_file import load_pipeline, write

DEFAULT_MODEL = REPO_ROOT / "models" / "restorer_v1.pt"
MAX_BYTES = 25_000_000


def _half(state_dict: dict) -> dict:
    return {k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}


def export(run, out=DEFAULT_MODEL, **inference) -> Path:
    """Write a run's best pipeline as a float16 file (atomically); refuses one over 25 MB.

    inference: generator settings to change (tta, region_luma), e.g. when validation
    found them better for this model than what it was trained with.
    """
    pipeline = load_pipeline(run)
    unknown = set(inference) - {"tta", "region_luma"}
    if unknown:
        raise ValueError(f"only tta and region_luma can be changed at export, not {sorted(unknown)}")
    g, m = pipeline.generator, pipeline.mask
    pipeline.generator = dataclasses.replace(g, **inference, state_dict=_half(g.state_dict))
    pipeline.mask = dataclasses.replace(m, state_dict=_half(m.state_dict))
    pipeline.notes = {**pipeline.notes, "inference_changes": inference, "exported_from": str(Path(run).resolve())}
    out = Path(out)
    write(pipeline, out)
    if out.stat().st_size > MAX_BYTES:
        size = out.stat().st_size
        out.unlink()
        raise ValueError(f"{out}: {size / 1e6:.1f} MB is over the {MAX_BYTES / 1e6:.0f} MB budget for a shipped model")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.pretrained", description="export a run as the shipped model")
    ap.add_argument("--run", required=True, help="GAN run folder (or its best.pt)")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    ap.add_argument("--tta", choices=("on", "off"), default=None, help="flip test-time augmentation")
    ap.add_argument("--region-luma", choices=("generator", "base"), default=None,
                    help="luminance inside the lost region: the generator's or the Telea fill's")
    args = ap.parse_args(argv)
    inference = {k: v for k, v in (("tta", None if args.tta is None else args.tta == "on"),
                                   ("region_luma", args.region_luma)) if v is not None}
    path = export(args.run, args.out, **inference)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
