"""Build a DACON-format dataset from the embedded colour photos (helpers.data.synthetic).

    python -m helpers.sample_data [--out data/sample] [--train 400] [--test 40] [--seed 0]
    python -m helpers.sample_data --remove [--out data/sample]   (what `make clean` runs)
    python -m helpers.sample_data --out data/dacon-size --train 29603 --test 100 --zip data/open.zip
                                  (DACON's size, and its open.zip: about 15 GB each)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR, SAMPLE_DIR
from helpers.data import synthetic
from helpers.data.synthetic import BuildError, build, remove_build, write_zip


def summarize(meta: pd.DataFrame) -> str:
    """Counts and damage statistics of a built dataset, as plain text."""
    lines = []
    for split, df in meta.groupby("split", sort=False):
        lines.append(f"{split}: {len(df)} images from {df.source.nunique()} photos")
    lines.append(f"shapes: {meta['shape'].value_counts().sort_index().to_dict()}")
    a = meta.area_frac * 100
    lines.append(f"lost area %: min {a.min():.2f}  median {a.median():.2f}  max {a.max():.2f}")
    hist, edges = np.histogram(a, bins=[1, 2, 4, 6, 8, 10, 12.0001])
    lines.append("area % histogram: " + "  ".join(f"{edges[i]:.0f}-{edges[i+1]:.0f}:{n}"
                                                   for i, n in enumerate(hist)))
    hist, edges = np.histogram(meta.fill, bins=[0, 10, 20, 40, 60, 80, 101])
    lines.append("fill value histogram: " + "  ".join(f"{edges[i]}-{edges[i+1]-1}:{n}"
                                                       for i, n in enumerate(hist)))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.sample_data", description=__doc__ + synthetic.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(SAMPLE_DIR), help="output folder (default: data/sample)")
    ap.add_argument("--photos", default=str(PHOTOS_DIR), help="folder of colour photos")
    ap.add_argument("--extra-photos", default=str(EXTRA_PHOTOS_DIR),
                    help="folder of training-only photos ('' for none; default data/photos_extra)")
    ap.add_argument("--train", type=int, default=400, help="training images (default 400)")
    ap.add_argument("--test", type=int, default=40, help="test images (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-frac", type=float, default=0.15, help="share of photos kept for test")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--zip", default=None, help="also write the build as one zip, as DACON ships open.zip")
    ap.add_argument("--remove", action="store_true",
                    help="delete the build in --out instead (only a build of this builder holding nothing else)")
    args = ap.parse_args(argv)
    if args.remove:
        try:
            print(f"removed {args.out}" if remove_build(args.out) else f"{args.out}: no build to remove")
            return 0
        except BuildError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        out = build(args.out, args.train, args.test, args.seed, args.photos, args.test_frac,
                    args.workers, args.force, extra_photos_dir=args.extra_photos or None)
    except (BuildError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summarize(pd.read_csv(out / "meta.csv")))
    if args.zip:
        print(f"written {write_zip(out, args.zip)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
