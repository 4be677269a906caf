"""Decoded, resized training images, cached once on local disk as uint8 arrays (memory-mapped).

Decoding every PNG pair again in every epoch is what bounds training on Colab and Kaggle:
one loader worker (a 2-core runtime) delivers about 50 GAN images/s at 256 px, a T4 could
take about 200. A cache holds exactly the uint8 arrays a dataset item is made of (helpers.
torch_data decodes them once, the same way), for one list of rows at one size: built before
training with a progress bar, then read by every epoch, run and notebook that asks for the
same (dataset fingerprint, rows, size, prefill), whatever process or worker. Augmentation
(flips) stays after the cache. A changed dataset has another fingerprint, hence another key.

    <cache root>/<key>/{input,gt,mask,base}.npy   (N, S, S[, 3]) uint8, np.load(mmap_mode="r")
                 /<key>/done.json                 written last: a cache without it is not used
Cache root: $DACON_CACHE_DIR, else local scratch (runs/cache here, /content/cache in Colab,
/tmp on Kaggle, whose /kaggle/working is small and saved as output). Before building, the
size is checked against the free disk (keeping FREE_MARGIN free); when it does not fit, the
dataset decodes as before and says so once.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from helpers import REPO_ROOT
from helpers.core import runtime
from helpers.core.files import remove_killed_folders
from helpers.data.dacon import fingerprint

FREE_MARGIN = 2 * 1024 ** 3  # bytes a cache build leaves free on its disk (checkpoints, the OS)
VERSION = 1  # bump when what an item's arrays hold changes


def cache_root() -> Path:
    if os.environ.get("DACON_CACHE_DIR"):
        return Path(os.environ["DACON_CACHE_DIR"]).expanduser()
    place = runtime.where()
    if place == "colab":
        return runtime.system_root() / "content" / "cache"
    if place == "kaggle":
        return runtime.system_root() / "tmp" / f"{runtime.PROJECT}-cache"
    return REPO_ROOT / "runs" / "cache"


def cache_key(fingerprint: str, names: list[str], size: int, fields: dict) -> str:
    """A folder name for one cache: the dataset, the exact rows in order, the size and the fields."""
    digest = hashlib.sha256(json.dumps([VERSION, fingerprint, names, size, fields], sort_keys=True).encode())
    return f"{fingerprint}-{size}px-{digest.hexdigest()[:12]}"


def files_key(paths: list[str], size: int, fields: dict) -> str:
    """cache_key for images given by path inside one dataset (<dataset>/<folder>/<file>): the
    dataset's fingerprint and the paths relative to it."""
    if not paths:
        return cache_key("no-files", [], size, fields)
    root = Path(paths[0]).parent.parent
    return cache_key(fingerprint(root), [str(Path(p).relative_to(root)) for p in paths], size, fields)


def cached_or_built(key: str, n: int, shapes: dict[str, tuple], item, workers: int = 0, progress: bool = True,
                    what: str = "training images") -> dict[str, Path] | None:
    """The array files of the cache `key`, built now if missing (build); None when it does not fit."""
    return cached(key) or build(key, n, shapes, item, workers, progress, what)


def cached(key: str) -> dict[str, Path] | None:
    """The array files of a complete cache, or None."""
    folder = cache_root() / key
    try:
        done = json.loads((folder / "done.json").read_text())
    except (OSError, ValueError):
        return None
    files = {name: folder / f"{name}.npy" for name in done.get("arrays", [])}
    return files if files and all(p.is_file() for p in files.values()) else None


def build(key: str, n: int, shapes: dict[str, tuple], item, workers: int = 0, progress: bool = True,
          what: str = "training images") -> dict[str, Path] | None:
    """Write one (n, *shape) uint8 array per name from item(i) -> {name: array}, in a temporary
    folder renamed into place when complete; None (nothing written) when the disk is too small.
    item runs in `workers` processes (a torch DataLoader) when workers > 0."""
    root = cache_root()
    need = sum(n * int(np.prod(s)) for s in shapes.values())
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if need + FREE_MARGIN > free:
        print(f"not caching the {what}: {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free in {root} "
              f"(keeping {FREE_MARGIN / 1e9:.0f} GB); decoding every epoch instead (set DACON_CACHE_DIR to a "
              "larger disk to cache)", flush=True)
        return None
    remove_killed_builds(root)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{key}.tmp-"))
    (tmp / BUILDING).write_text(str(os.getpid()))
    try:
        # written item after item with plain writes, not through a memory map: mapping gigabytes
        # for writing makes them all resident (dirty) in this process while it builds
        files = {name: open(tmp / f"{name}.npy", "wb") for name in shapes}
        try:
            for name, f in files.items():
                np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                         "shape": (n, *shapes[name])})
            desc = f"caching {n} {what} ({need / 1e9:.2f} GB, once)"
            for i, (j, values) in enumerate(tqdm(_items(item, n, workers), total=n, desc=desc, disable=not progress)):
                assert i == j, "cache items arrive in order"
                for name, f in files.items():
                    a = np.asarray(values[name], dtype=np.uint8)
                    if a.shape != shapes[name]:
                        raise ValueError(f"cache item {i}: {name} has shape {a.shape}, expected {shapes[name]}")
                    f.write(np.ascontiguousarray(a).tobytes())
        finally:
            for f in files.values():
                f.close()
        (tmp / BUILDING).unlink()
        (tmp / "done.json").write_text(json.dumps({"arrays": list(shapes), "n": n, "bytes": need}))
        final = root / key
        if final.exists():  # another process finished the same cache first: use theirs
            shutil.rmtree(tmp)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return cached(key)


BUILDING = ".building"  # in a cache being built: the builder's process id


def remove_killed_builds(root: Path) -> None:
    """Temporary cache folders whose builder no longer runs (killed mid-build): gigabytes otherwise."""
    remove_killed_folders(root, ".*.tmp-*", BUILDING)


def _items(item, n: int, workers: int):
    """(i, item(i)) for i in range(n), in order; decoded by `workers` processes when > 0."""
    if workers <= 0:
        for i in range(n):
            yield i, item(i)
        return
    import torch
    # its own generator: a loader draws its workers' seed from the global RNG otherwise, and a
    # cache built (or found) before training would change the run's random numbers
    loader = torch.utils.data.DataLoader(_Indexed(item, n), batch_size=None, num_workers=workers,
                                         generator=torch.Generator())
    yield from loader


class _Indexed:
    def __init__(self, item, n):
        self.item, self.n = item, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i, self.item(i)


def open_arrays(files: dict[str, Path]) -> dict[str, np.ndarray]:
    """The cache's arrays, memory-mapped read-only (opened per process: a memmap does not pickle as one)."""
    return {name: np.load(path, mmap_mode="r") for name, path in files.items()}
