"""Reading and writing images with checks that name the file and what is wrong."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from helpers.core.files import atomic_write

# The largest image read: 120 megapixels (a 12000 x 10000 scan; any camera's photo).
# The size is checked from the file's header before anything is decoded, so a
# "decompression bomb" (a small file that decodes to gigabytes) is refused by name.
MAX_PIXELS = 120_000_000


class ImageFileError(ValueError):
    """An image file is missing, unreadable, or not of the expected size or mode."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # picklable, so worker processes can report it
        return type(self), (self.path, self.problem)


def _too_large(what: str) -> str:
    return (f"{what}: over the limit of {MAX_PIXELS / 1e6:.0f} megapixels (helpers.core.images.MAX_PIXELS), "
            "refused before decoding; scale it down first")


def header_pixels(path: str | os.PathLike) -> int:
    """Width x height from the file's header, without decoding (0 when it cannot be read:
    open_image then reports why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.size[0] * im.size[1]
    except Exception:  # noqa: BLE001 (any unreadable file: its read reports it by name)
        return 0


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image (its first frame: im.info["frames"] says how many it has);
    a missing, empty or corrupt file raises ImageFileError."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise ImageFileError(path, "file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # MAX_PIXELS is checked below
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageFileError(path, _too_large(f"{w}x{h} is {w * h / 1e6:.0f} megapixels"))
                frames = getattr(im, "n_frames", 1)  # counted while the file is open (GIF, TIFF seek for it)
                im.load()  # decode now, so truncated data fails here and not later (the pixels stay)
                im.info["frames"] = frames  # the first is what was decoded
                return im
    except ImageFileError:
        raise
    except Image.DecompressionBombError as e:  # PIL's own, larger limit, hit while reading the header
        raise ImageFileError(path, _too_large(str(e).split(",")[0].rstrip("."))) from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageFileError(path, f"not a readable image ({e})") from e
    except MemoryError as e:
        raise ImageFileError(path, "not enough memory to decode it") from e


def _check_size(im: Image.Image, path, size: tuple[int, int] | None) -> None:
    if size is not None and im.size != tuple(size):
        raise ImageFileError(path, f"size is {im.size[0]}x{im.size[1]}, expected {size[0]}x{size[1]}")


def read_gray(path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A mode-L (8-bit grayscale) image as a uint8 array (H, W). Other modes are an error."""
    im = open_image(path)
    if im.mode != "L":
        raise ImageFileError(path, f"mode is {im.mode}, expected L (8-bit grayscale)")
    _check_size(im, path, size)
    return np.asarray(im, dtype=np.uint8)


def read_rgb(path, size: tuple[int, int] | None = None, allow_convert: bool = False) -> np.ndarray:
    """An RGB image as a uint8 array (H, W, 3).

    allow_convert=True accepts L, P and RGBA too and converts them to RGB the way a
    reader of submissions does (gray replicated, alpha dropped); 16-bit or float
    images are always an error.
    """
    im = open_image(path)
    if im.mode != "RGB":
        if not (allow_convert and im.mode in ("L", "P", "RGBA", "LA")):
            raise ImageFileError(path, f"mode is {im.mode}, expected RGB (8-bit colour)")
        im = im.convert("RGB")
    _check_size(im, path, size)
    return np.asarray(im, dtype=np.uint8)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grayscale exactly as the competition made its inputs: PIL's convert('L') (ITU-R 601-2 luma)."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).convert("L"), dtype=np.uint8)


def save_png(array: np.ndarray, path) -> Path:
    """Write a uint8 array as PNG atomically: mode L for (H, W), RGB for (H, W, 3).

    zlib level 1: 3.5x faster than PIL's default level 6 (33 vs 117 ms for a 512x512
    RGB photo here) for files about 10 % larger; PNG is lossless either way.
    """
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"{path}: expected uint8 (H, W) or (H, W, 3), got {array.dtype} {array.shape}")
    im = Image.fromarray(np.ascontiguousarray(array))
    return atomic_write(path, lambda tmp: im.save(tmp, format="PNG", compress_level=1))


HIGH_DEPTH_BITS = (8, 10, 12, 14, 16, 24, 32)  # sensor / file bit depths an integer image may use


def to_gray8(im: Image.Image, path) -> np.ndarray:
    """Any image as 8-bit gray (H, W) uint8, keeping its brightness; an error says why when it cannot.

    Colour, palette, alpha and 1-bit images go through PIL's convert('L') (ITU-R 601-2
    luma, as the competition made its inputs). Integer images of more than 8 bits
    (16-bit PNG/TIFF, 32-bit "I") are scaled by the full range of the smallest common
    bit depth that holds their brightest pixel: 12-bit data (0..4095) fills 0..255
    instead of being dimmed to 0..15. Float images are read as 0..1 or 0..255 by their
    range; negative, NaN or larger values are refused.
    """
    if im.mode == "L":
        return np.asarray(im, dtype=np.uint8)
    if im.mode.startswith("I") or im.mode == "F":
        a = np.asarray(im)
        if a.ndim != 2:
            raise ImageFileError(path, f"mode {im.mode} with shape {a.shape} is not a single-channel image")
        if a.size == 0:
            raise ImageFileError(path, "image has no pixels")
        if a.dtype.kind == "f":
            if not np.isfinite(a).all():
                raise ImageFileError(path, f"float image (mode {im.mode}) holds NaN or infinite values")
            lo, hi = float(a.min()), float(a.max())
            if lo < 0 or hi > 255:
                raise ImageFileError(path, f"float image (mode {im.mode}) has values {lo:g}..{hi:g}, "
                                           "neither 0..1 nor 0..255; convert it to 8-bit yourself")
            scale = 255.0 if hi <= 1.0 else 1.0
            return np.clip(np.rint(a.astype(np.float64) * scale), 0, 255).astype(np.uint8)
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise ImageFileError(path, f"integer image (mode {im.mode}) has negative values ({lo}..{hi}); "
                                       "convert it to 8-bit yourself")
        bits = next(b for b in HIGH_DEPTH_BITS if hi < 2 ** b)
        return np.rint(a.astype(np.float64) * (255.0 / (2 ** bits - 1))).astype(np.uint8)
    try:
        return np.asarray(im.convert("L"), dtype=np.uint8)
    except (ValueError, OSError) as e:
        raise ImageFileError(path, f"mode {im.mode} cannot be converted to gray ({e})") from e
