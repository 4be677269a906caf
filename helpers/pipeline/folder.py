"""Restoring a folder of photos: listing the inputs, reading ahead, batching, writing, per-file failures.

Every readable 8-bit gray image (any size up to helpers.core.images.MAX_PIXELS) in the
top level of the input folder is restored and written as an RGB PNG of the same name
(.png) to the output folder. A file that cannot be used (corrupt, empty, a broken link,
too large, not grayscale without convert, out of memory) is reported by name with the
reason and the others still go through. Every photo is read as it is shown (read_input):
turned upright by its EXIF orientation (a phone's JPEG), and an animated GIF or a
multi-page TIFF gives its first frame; each of these gets a note under its name. `python -m helpers.predict` and notebook 06
call `restore_folder`.
"""
from __future__ import annotations

import errno
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import ImageOps
from tqdm.auto import tqdm

from helpers.core.files import FolderError, same_folder
from helpers.core.images import ImageFileError, header_pixels, open_image, save_png, to_gray8
from helpers.pipeline.restore import Restorer, release_memory

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
EXIF_ORIENTATION = 0x0112
BATCH_MAX_PIXELS = 1024 * 1024  # only images up to this size share a network call; larger ones go alone
READ_AHEAD_BYTES = 64 << 20  # decoded images waiting for the networks, at most (besides one)
WRITE_BACKLOG_BYTES = 64 << 20  # restored images waiting for their PNG write, at most (besides one)


@dataclass
class FolderReport:
    restored: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong
    notes: dict[str, list[str]] = field(default_factory=dict)  # file name -> what was done to read it

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class InputListing:
    """What the top level of an input folder holds."""
    files: list[Path]  # image files to restore, sorted
    broken: dict[str, str] = field(default_factory=dict)  # image-named entries that cannot be read
    subfolders: list[str] = field(default_factory=list)  # not searched
    other: int = 0  # files that are not images by their suffix


def scan_inputs(input_dir) -> InputListing:
    """Image files of a folder's top level, sorted; a clear error when the folder is missing or has none."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: input folder does not exist")
    listing = InputListing(files=[])
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        image_name = p.suffix.lower() in IMAGE_SUFFIXES
        if p.is_symlink() and not p.exists():
            if image_name:
                listing.broken[p.name] = _dangling(p)
        elif p.is_dir():
            listing.subfolders.append(p.name)
        elif p.is_file() and image_name:
            listing.files.append(p)
        else:
            listing.other += 1
    if not listing.files and not listing.broken:
        raise ValueError(f"{folder}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) to restore"
                         + (f" in its top level (subfolders are not searched: {', '.join(listing.subfolders)})"
                            if listing.subfolders else ""))
    stems = Counter(p.stem for p in listing.files)
    clashes = sorted(s for s, n in stems.items() if n > 1)
    if clashes:
        raise ValueError(f"{folder}: several files would be written as {clashes[0]}.png "
                         f"({', '.join(p.name for p in listing.files if p.stem == clashes[0])}); rename them")
    return listing


def _dangling(link: Path) -> str:
    """Why a symbolic link leads nowhere: a loop, or a missing target."""
    try:
        link.resolve(strict=True)
    except (RuntimeError, OSError) as e:  # Python 3.11-3.12 raise RuntimeError on a loop, later ones ELOOP
        if isinstance(e, RuntimeError) or e.errno == errno.ELOOP:
            return f"symbolic link loop (it leads back to itself through {link.readlink()})"
    return f"broken symbolic link (its target {link.readlink()} does not exist)"


@dataclass
class InputImage:
    """A photo as restoration reads it."""
    gray: np.ndarray  # uint8 (H, W), upright
    mode: str  # the file's PIL mode before conversion to gray
    notes: list[str]  # what was done besides (turned upright, first of several frames)


def read_input(path, convert: bool = False) -> InputImage:
    """A photo as it is shown, in 8-bit gray: turned upright by its EXIF orientation (phones store
    their JPEGs sideways with a tag saying so), the first frame of an animated or multi-page file.
    Other modes than L are an error unless convert=True (helpers.core.images.to_gray8)."""
    im = open_image(path)
    if im.mode != "L" and not convert:
        raise ImageFileError(path, f"mode is {im.mode}, expected L (8-bit grayscale); "
                                   "pass --convert to turn it gray first")
    notes = []
    if (frames := im.info.get("frames", 1)) > 1:
        notes.append(f"has {frames} frames (an animation or pages): the first is restored")
    orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    if orientation in range(2, 9):  # 1: upright already; other values mean nothing
        im = ImageOps.exif_transpose(im)
        notes.append(f"turned upright by its EXIF orientation {orientation} (restored as {im.size[0]}x{im.size[1]})")
    mode = im.mode
    return InputImage(to_gray8(im, path), mode, notes)


def _read_or_problem(path: Path, convert: bool):
    try:
        return read_input(path, convert), None
    except ImageFileError as e:
        return None, e.problem
    except MemoryError:
        return None, "not enough memory to read it"
    except Exception as e:  # a decoder's own error: this file fails, the folder goes on
        return None, f"could not be read ({type(e).__name__}: {e})"


def _reads(pool: ThreadPoolExecutor | None, paths: list[Path], convert: bool, depth: int):
    """(InputImage, problem) for each path in order, read ahead in the pool: at most `depth` images
    and READ_AHEAD_BYTES of decoded gray pixels (each file's size read from its header before
    it is queued) wait at a time, besides the one read first."""
    if pool is None:
        yield from (_read_or_problem(p, convert) for p in paths)
        return
    pending, todo, queued, head = deque(), deque(paths), 0, None
    while todo or pending:
        while todo and len(pending) < depth:
            if head is None:
                head = header_pixels(todo[0])  # its gray uint8 size: one byte a pixel
            if pending and queued + head > READ_AHEAD_BYTES:
                break
            pending.append((pool.submit(_read_or_problem, todo.popleft(), convert), head))
            queued, head = queued + head, None
        future, size = pending.popleft()
        queued -= size
        yield future.result()


class _Writer:
    """PNG writes in the pool, in order; a failed write is that image's failure, not the folder's."""

    def __init__(self, pool: ThreadPoolExecutor | None, report: FolderReport):
        self.pool, self.report, self.pending, self.backlog = pool, report, deque(), 0

    @staticmethod
    def _write(jobs):
        for array, path in jobs:
            save_png(array, path)

    def submit(self, name: str, jobs: list) -> None:
        if self.pool is None:
            self._done(name, jobs, None)
            return
        size = sum(a.nbytes for a, _ in jobs)
        self.pending.append((name, jobs, size, self.pool.submit(self._write, jobs)))
        self.backlog += size
        while len(self.pending) > 1 and self.backlog > WRITE_BACKLOG_BYTES:
            self._wait_oldest()

    def _done(self, name: str, jobs: list, future) -> None:
        try:
            future.result() if future is not None else self._write(jobs)
            self.report.restored.append(name)
        except Exception as e:
            self.report.failed[name] = f"could not be written ({type(e).__name__}: {e})"

    def _wait_oldest(self) -> None:
        name, jobs, size, future = self.pending.popleft()
        self.backlog -= size
        self._done(name, jobs, future)

    def finish(self) -> None:
        while self.pending:
            self._wait_oldest()


def _failure(e: BaseException, gray: np.ndarray) -> str:
    if isinstance(e, MemoryError):
        return f"ran out of memory restoring this {gray.shape[1]}x{gray.shape[0]} image"
    return f"restoring failed ({type(e).__name__}: {e})"


def _restore_batch(restorer: Restorer, batch: list, out: Path, masks_dir, writer: _Writer,
                   report: FolderReport) -> None:
    """Restore same-sized images together; if that fails, one by one, so only the culprit fails."""
    try:
        rgbs, masks = restorer.restore(np.stack([g for _, g in batch]))
    except Exception as e:
        if len(batch) > 1:
            for item in batch:
                _restore_batch(restorer, [item], out, masks_dir, writer, report)
        else:
            report.failed[batch[0][0].name] = _failure(e, batch[0][1])
        return
    for (path, _), rgb, mask in zip(batch, rgbs, masks):
        jobs = [(rgb, out / f"{path.stem}.png")]
        if masks_dir is not None:
            jobs.append((mask.astype(np.uint8) * 255, Path(masks_dir) / f"{path.stem}.png"))
        writer.submit(path.name, jobs)


def _refuse_writing_over_inputs(paths: list[Path], out: Path, masks_dir) -> None:
    """A FolderError before any work when results (or masks) would be written into a folder
    that holds inputs, or masks into the results' folder: `<stem>.png` could replace a photo.
    (The command line refuses nested folders too; this guards every caller, notebook 06 too.)"""
    targets = {"output folder": out.expanduser().resolve()}
    if masks_dir is not None:
        targets["masks folder"] = Path(masks_dir).expanduser().resolve()
        if same_folder(targets["output folder"], targets["masks folder"]):
            raise FolderError(f"{out}: the masks would be written into the output folder; use separate folders")
    for folder in {p.expanduser().resolve().parent for p in paths}:
        for what, target in targets.items():
            if same_folder(folder, target):
                raise FolderError(f"{target}: the {what} is the folder of the input images, where the restored "
                                  "PNGs could replace them; use a separate folder")


def restore_folder(restorer: Restorer, input_paths, output_dir, convert: bool = False,
                   masks_dir=None, progress: bool = True, batch_size: int = 4, io_threads: int = 2) -> FolderReport:
    """Restore each image into output_dir/<stem>.png (written atomically); failures are collected.

    Consecutive images of one size up to BATCH_MAX_PIXELS go through the networks
    `batch_size` at a time; larger ones one by one. Reading and PNG writing run in
    `io_threads` background threads while the networks compute, with bounded memory
    (batch_size=1, io_threads=0: the plain one-by-one loop). Any failure of one image,
    out of memory included, is recorded under its name and the rest go on. An output or
    masks folder that holds any of the inputs is a FolderError before anything is read.
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size}")
    report = FolderReport()
    paths = [Path(p) for p in input_paths]
    out, batch = Path(output_dir), []
    _refuse_writing_over_inputs(paths, out, masks_dir)

    with ThreadPoolExecutor(max(1, io_threads)) as pool:
        writer = _Writer(pool if io_threads else None, report)

        def flush():
            _restore_batch(restorer, batch, out, masks_dir, writer, report)
            batch.clear()

        reads = _reads(pool if io_threads else None, paths, convert, 2 * batch_size)
        for path, (image, problem) in tqdm(zip(paths, reads), total=len(paths), desc="restore", disable=not progress):
            if problem is not None:
                report.failed[path.name] = problem
                continue
            if image.notes:
                report.notes[path.name] = image.notes
            gray = image.gray
            del image
            small = gray.size <= BATCH_MAX_PIXELS
            if batch and (not small or gray.shape != batch[0][1].shape):
                flush()
            batch.append((path, gray))
            if not small or len(batch) >= batch_size:
                flush()
            if not small:
                del gray
                release_memory()  # a large photo's buffers go back to the system before the next one
        if batch:
            flush()
        writer.finish()
    return report
