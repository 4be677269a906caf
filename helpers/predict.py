"""Restore a folder of damaged gray photos with a trained pipeline.

    python -m helpers.predict --input-dir DIR --output-dir DIR [--run RUN_DIR_OR_FILE]

Every readable 8-bit gray image (any size up to helpers.core.images.MAX_PIXELS) in the top
level of the input folder is restored and written as an RGB PNG of the same name (.png)
to the output folder. A file that cannot be used (corrupt, empty, a broken link, too
large, not grayscale without --convert, out of memory) is reported by name with the
reason and the others still go through; a photo is read as it is shown (turned upright
by its EXIF orientation, the first frame of an animation), with a note. Input, output and masks folders must be
separate (not the same, not inside one another). Exit code: 0 all restored, 1 some
failed, 2 nothing was done (missing folder, no images, clashing or unwritable folders,
no model). Notebook 06 calls `restore_folder` too.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.core.files import FolderError, check_separate, ensure_writable, remove_stale_temps, sigterm_exits
from helpers.pipeline.folder import restore_folder, scan_inputs
from helpers.pipeline.restore import Restorer
from helpers.pipeline.shipped import default_run


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.predict", description=__doc__.split("\n\n")[0])
    ap.add_argument("--input-dir", required=True, help="folder of damaged gray photos (top level only)")
    ap.add_argument("--output-dir", required=True, help="where the restored RGB PNGs go (a separate folder)")
    ap.add_argument("--run", default=None, help=f"trained pipeline: a GAN run folder or its best.pt "
                                                f"(default: {default_run()})")
    ap.add_argument("--convert", action="store_true",
                    help="accept colour, 16-bit and float images by converting them to 8-bit gray")
    ap.add_argument("--masks-dir", default=None, help="also write the predicted lost regions here")
    ap.add_argument("--batch-size", type=_positive_int, default=4,
                    help="images of one size per network call (default 4)")
    ap.add_argument("--tta", choices=("model", "on", "off"), default="model",
                    help="flip test-time augmentation: as the model was validated (default), or forced on/off")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    with sigterm_exits():
        try:
            listing = scan_inputs(args.input_dir)
            check_separate(input_dir=args.input_dir, output_dir=args.output_dir, masks_dir=args.masks_dir)
            for folder, what in ((args.output_dir, "output folder"), (args.masks_dir, "masks folder")):
                if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
                    raise FolderError(f"{folder}: {what} is a file, not a folder")
            restorer = Restorer.load(args.run or default_run(), tta={"model": None, "on": True, "off": False}[args.tta])
            for folder, what in ((args.output_dir, "output folder"), (args.masks_dir, "masks folder")):
                if folder is not None:
                    ensure_writable(folder, what)
                    remove_stale_temps(folder)  # left by a killed earlier run
        except (FileNotFoundError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(restorer.describe())
        if listing.subfolders:
            print(f"note: {len(listing.subfolders)} subfolder(s) not searched ({', '.join(listing.subfolders[:5])}"
                  f"{', ...' if len(listing.subfolders) > 5 else ''}): only the top level of --input-dir is restored")
        report = restore_folder(restorer, listing.files, args.output_dir, args.convert, args.masks_dir,
                                not args.quiet, batch_size=args.batch_size)
    report.failed.update(listing.broken)
    total = len(listing.files) + len(listing.broken)
    print(f"restored {len(report.restored)} of {total} images into {args.output_dir}")
    for name, notes in sorted(report.notes.items()):
        print(f"note {name}: {'; '.join(notes)}")
    for name, problem in sorted(report.failed.items()):
        print(f"FAILED {name}: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
