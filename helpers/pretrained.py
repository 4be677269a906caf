"""Export a trained run as the shipped model (helpers.pipeline.shipped).

    python -m helpers.pretrained --run drive_checkpoints/<run> [--out models/restorer_v2.pt]
        [--weights float16|int8] [--inpainter RUN] [--mask RUN] [--tta on|off] [--region-luma generator|base]

--inpainter and --mask take a run, its file, or a pipeline file whose network is taken: a new
generator paired with v2's mask model and inpainter is
    python -m helpers.pretrained --run RUN --mask models/restorer_v2.pt --inpainter models/restorer_v2.pt --weights int8
"""
from __future__ import annotations

import argparse

from helpers.pipeline.shipped import DEFAULT_MODEL, export


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.pretrained", description="export a run as the shipped model")
    ap.add_argument("--run", required=True, help="GAN run folder (or its best.pt, or a shipped model)")
    ap.add_argument("--inpainter", default=None,
                    help="a learned inpainter whose fill the region keeps (a run, or a pipeline file holding one)")
    ap.add_argument("--mask", default=None, help="a mask model to use instead (a run, or a pipeline file holding one)")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    ap.add_argument("--weights", choices=("float16", "int8"), default="float16",
                    help="how the weights are stored (int8: per-channel scales, a quarter of float32)")
    ap.add_argument("--tta", choices=("on", "off"), default=None, help="flip test-time augmentation")
    ap.add_argument("--region-luma", choices=("generator", "base"), default=None,
                    help="luminance inside the lost region: the generator's or the Telea fill's")
    args = ap.parse_args(argv)
    inference = {k: v for k, v in (("tta", None if args.tta is None else args.tta == "on"),
                                   ("region_luma", args.region_luma)) if v is not None}
    path = export(args.run, args.out, args.weights, args.inpainter, args.mask, **inference)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
