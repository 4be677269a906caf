"""Score a folder of predictions with the DACON metric.

    python -m helpers.score --pred DIR --gt DIR --input DIR [--csv per_image.csv] [--json summary.json]

Files are matched by name: every PNG in --input (.png or .PNG) must have a truth in
--gt and a prediction in --pred of the same name and size (for an input X.PNG, X.png
counts too: that is what helpers.pipeline.folder writes). A missing, unreadable or
mis-sized prediction, an input with no lost region, or an image whose score is
undefined (a constant prediction) is reported by name and nothing is scored (exit
code 2), since a score over fewer images than asked would mislead. Predictions in L,
P or RGBA mode are read as RGB, as the competition's reader (cv2.imread) does. The
JSON written by --json is strict JSON: an undefined value (the hue error of a truth
without coloured pixels) is null.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers.core.files import atomic_write
from helpers.scoring.folders import ScoreError, format_summary, score_folders


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.score", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pred", required=True, help="folder of predicted RGB PNGs")
    ap.add_argument("--gt", required=True, help="folder of colour truth PNGs")
    ap.add_argument("--input", required=True, help="folder of damaged grayscale inputs (for the mask)")
    ap.add_argument("--csv", help="write the per-image table here")
    ap.add_argument("--json", help="write the summary (and per-image rows) here as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        table, summary = score_folders(args.pred, args.gt, args.input, progress=not args.quiet)
    except ScoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.csv:
        atomic_write(args.csv, lambda tmp: table.to_csv(tmp, index=False, float_format="%.6f"))
    if args.json:
        images = table.astype(object).where(table.notna(), None).to_dict("records")  # undefined (NaN): null
        payload = json.dumps({"summary": summary, "images": images}, indent=2, allow_nan=False)
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(payload))
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
