"""Restore a folder of damaged gray photos with a trained pipeline.

    python -m helpers.predict --input-dir DIR --output-dir DIR [--run RUN_DIR_OR_FILE]

Every readable 8-bit gray image (any size) is restored and written as an RGB PNG of
the same name (.png) to the output folder. A file that cannot be used (corrupt, empty,
not grayscale without --convert) is reported by name with the reason and the others
still go through. Exit code: 0 all restored, 1 some failed, 2 nothing could be done
(missing folder, no images, no model). Notebook 05 calls `restore_folder` too.
"""
from __future__ import annotations

import argparse
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .checkpoints import storage_root
from .images import ImageFileError, open_image, save_png
from .pretrained import DEFAULT_MODEL
from .restore import Restorer

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
CONVERTIBLE = {"RGB", "RGBA", "P", "LA", "I;16", "I", "F", "1"}


@dataclass
class FolderReport:
    restored: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong

    @property
    def ok(self) -> bool:
        return not self.failed


def list_inputs(input_dir) -> list[Path]:
    """Image files of a folder, sorted; a clear error when the folder is missing or has none."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: input folder does not exist")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) to restore")
    stems = [p.stem for p in files]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise ValueError(f"{folder}: several files would be written as {clashes[0]}.png "
                         f"({', '.join(p.name for p in files if p.stem == clashes[0])}); rename them")
    return files


def read_input(path, convert: bool = False) -> np.ndarray:
    """A gray image as uint8 (H, W); other modes are an error unless convert=True."""
    im = open_image(path)
    if im.mode != "L":
        if not convert or im.mode not in CONVERTIBLE:
            raise ImageFileError(path, f"mode is {im.mode}, expected L (8-bit grayscale); "
                                       "pass --convert to turn it gray first")
        im = im.convert("L") if im.mode not in ("I;16", "I") else im.point(lambda v: v / 256).convert("L")
    return np.asarray(im, dtype=np.uint8)


def _read_or_problem(path: Path, convert: bool):
    try:
        return read_input(path, convert), None
    except ImageFileError as e:
        return None, e.problem


def _prefetched(pool: ThreadPoolExecutor, fn, items: list, depth: int):
    """fn(item) for each item in order, computed `depth` items ahead in the pool (bounded memory)."""
    pending = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > depth:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def restore_folder(restorer: Restorer, input_paths, output_dir, convert: bool = False,
                   masks_dir=None, progress: bool = True, batch_size: int = 4, io_threads: int = 2) -> FolderReport:
    """Restore each image into output_dir/<stem>.png (written atomically); failures are collected.

    Consecutive images of one size go through the networks `batch_size` at a time, and
    reading and PNG writing run in `io_threads` background threads while the networks
    compute (batch_size=1, io_threads=0: the plain one-by-one loop).
    """
    report = FolderReport()
    paths = [Path(p) for p in input_paths]
    out, batch, writes = Path(output_dir), [], deque()

    with ThreadPoolExecutor(max(1, io_threads)) as pool:
        def submit(array, path):
            if not io_threads:
                return save_png(array, path)
            writes.append(pool.submit(save_png, array, path))
            if len(writes) > 4 * batch_size:  # at most this many finished images wait in memory for their write
                writes.popleft().result()

        def flush():
            rgbs, masks = restorer.restore(np.stack([g for _, g in batch]))
            for (path, _), rgb, mask in zip(batch, rgbs, masks):
                submit(rgb, out / f"{path.stem}.png")
                if masks_dir is not None:
                    submit(mask.astype(np.uint8) * 255, Path(masks_dir) / f"{path.stem}.png")
                report.restored.append(path.name)
            batch.clear()

        reads = (_prefetched(pool, lambda p: _read_or_problem(p, convert), paths, 2 * batch_size) if io_threads
                 else (_read_or_problem(p, convert) for p in paths))
        for path, (gray, problem) in tqdm(zip(paths, reads), total=len(paths), desc="restore", disable=not progress):
            if problem is not None:
                report.failed[path.name] = problem
                continue
            if batch and gray.shape != batch[0][1].shape:
                flush()
            batch.append((path, gray))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        for w in writes:
            w.result()  # a failed write (disk full...) raises here
    return report


def default_run() -> Path:
    """The shipped pretrained pipeline, else the local GAN run of notebook 04."""
    return DEFAULT_MODEL if DEFAULT_MODEL.exists() else storage_root() / "gan"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.predict", description=__doc__.split("\n\n")[0])
    ap.add_argument("--input-dir", required=True, help="folder of damaged gray photos")
    ap.add_argument("--output-dir", required=True, help="where the restored RGB PNGs go")
    ap.add_argument("--run", default=None, help=f"trained pipeline: a GAN run folder or its best.pt "
                                                f"(default: {default_run()})")
    ap.add_argument("--convert", action="store_true", help="accept colour or 16-bit images by converting them to gray")
    ap.add_argument("--masks-dir", default=None, help="also write the predicted lost regions here")
    ap.add_argument("--batch-size", type=int, default=4, help="images of one size per network call (default 4)")
    ap.add_argument("--tta", choices=("model", "on", "off"), default="model",
                    help="flip test-time augmentation: as the model was validated (default), or forced on/off")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        inputs = list_inputs(args.input_dir)
        restorer = Restorer.load(args.run or default_run(), tta={"model": None, "on": True, "off": False}[args.tta])
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(restorer.describe())
    report = restore_folder(restorer, inputs, args.output_dir, args.convert, args.masks_dir, not args.quiet,
                            batch_size=args.batch_size)
    print(f"restored {len(report.restored)} of {len(inputs)} images into {args.output_dir}")
    for name, problem in report.failed.items():
        print(f"FAILED {name}: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
