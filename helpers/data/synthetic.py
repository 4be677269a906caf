"""Build a DACON-format dataset from the embedded colour photos (data/photos).
(`python -m helpers.sample_data` is its command.)

Each image is a random square crop of one photo (random scale and position,
random horizontal flip) resized to 512x512; its truth is that crop in RGB, its
input PIL's grayscale of it with one lost region (helpers.data.damage). Photos are
split first, so no photo gives crops to both train and test; `meta.csv` records
every crop's source photo so later splits can keep sources apart too. The training-only
photos of data/photos_extra join the training sources (never the test ones), so the
test split depends on data/photos alone.

The build is deterministic for a seed (each image has its own random stream, so
the worker count does not matter), writes into a hidden folder beside --out and renames
it into place at the end: an interrupted build never leaves half a dataset behind. That
folder (.<name>.partial) logs every finished image, so running the same command again
after a kill resumes where it stopped; other settings start it afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR, SAMPLE_DIR
from helpers.core.files import TEMP_NAME, atomic_write, pid_alive, remove_killed_folders, remove_stale_temps
from helpers.core.images import save_png, to_gray
from helpers.data.damage import apply_damage, sample_damage
from helpers.data.layout import IMAGE_SIZE, SPLIT_FILES
from helpers.data.photos import list_photos, load_photo, random_crop

SIZE = IMAGE_SIZE[0]
SPLIT_CODE = {"train": 1, "test": 2}


def split_sources(photos: list[Path], test_frac: float, seed: int) -> dict[str, list[Path]]:
    """Seeded split of whole photos into train and test sources."""
    order = np.random.default_rng([seed, 0]).permutation(len(photos))
    n_test = max(1, round(test_frac * len(photos)))
    if n_test >= len(photos):
        raise ValueError(f"need at least 2 photos to split, got {len(photos)}")
    return {"test": [photos[i] for i in order[:n_test]], "train": [photos[i] for i in order[n_test:]]}


def image_name(split: str, index: int, count: int) -> str:
    """TRAIN_00000.png / TEST_000.png, widened only when the count needs more digits."""
    width = max(5 if split == "train" else 3, len(str(count - 1)))
    return f"{split.upper()}_{index:0{width}d}.png"


def make_example(task: tuple) -> dict:
    """Build, write and describe one example (runs in a worker process)."""
    out, split, index, count, source, seed = task
    rng = np.random.default_rng([seed, SPLIT_CODE[split], index])
    gt, (x0, y0, side, flipped) = random_crop(load_photo(source), rng)
    damage = sample_damage(rng, SIZE)
    name = image_name(split, index, count)
    save_png(gt, Path(out) / f"{split}_gt" / name)
    save_png(apply_damage(to_gray(gt), damage), Path(out) / f"{split}_input" / name)
    save_png(damage.mask.astype(np.uint8) * 255, Path(out) / f"{split}_mask" / name)
    return {
        "split": split, "name": name,
        "input_image_path": f"./{split}_input/{name}", "gt_image_path": f"./{split}_gt/{name}",
        "mask_path": f"./{split}_mask/{name}", "source": Path(source).name,
        "crop_x": round(x0, 2), "crop_y": round(y0, 2), "crop_size": round(side, 2), "flipped": flipped,
        "shape": damage.shape, "fill": damage.fill, "area_frac": round(damage.area_frac, 6),
    }


def _config(photos: list[Path], extra: list[Path], n_train: int, n_test: int, seed: int, test_frac: float) -> dict:
    """What a build depends on: its settings, the photos, and the builder's own code."""
    def sha(paths):
        digest = hashlib.sha256()
        for p in paths:
            digest.update(p.name.encode())
            digest.update(p.read_bytes())
        return digest.hexdigest()

    here = Path(__file__).parent
    return {"n_train": n_train, "n_test": n_test, "seed": seed, "test_frac": test_frac, "size": SIZE,
            "n_photos": len(photos), "photos_sha256": sha(photos),
            "n_extra_photos": len(extra), "extra_photos_sha256": sha(extra),
            "code_sha256": sha([here / "synthetic.py", here / "photos.py", here / "damage.py"])}


BUILDER = "helpers.sample_data"  # the command's name; build.json's mark: only a folder carrying it is ever replaced
BUILDING = ".building"  # a temporary build folder's marker, holding the builder's pid


class BuildError(ValueError):
    """The build cannot go ahead as asked (names the folder or setting)."""


def _is_our_build(folder: Path) -> bool:
    """Whether `folder` is a dataset this builder wrote (its build.json says so)."""
    try:
        stamp = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return False
    # builds before the "builder" mark carried only config + test_sources
    return isinstance(stamp, dict) and (stamp.get("builder") == BUILDER
                                        or {"config", "test_sources"} <= set(stamp))


IMAGE_FOLDERS = tuple(f"{split}_{kind}" for split in ("train", "test") for kind in ("input", "gt", "mask"))
# what a build (and notebook 02's split of it) holds: replacing a build deletes only these
OWN_FILES = {"train.csv", "test.csv", "meta.csv", "build.json", *SPLIT_FILES}
OWN_IMAGE = re.compile(r"^(TRAIN|TEST)_\d+\.png$")


def _foreign_entries(out: Path) -> list[str]:
    """What a build folder holds that neither this builder nor notebook 02 wrote."""
    foreign = []
    for p in sorted(out.iterdir()):
        if p.name in IMAGE_FOLDERS and p.is_dir() and not p.is_symlink():
            foreign += [f"{p.name}/{q.name}" for q in sorted(p.iterdir()) if not OWN_IMAGE.match(q.name)]
        elif not ((p.name in OWN_FILES or TEMP_NAME.match(p.name)) and p.is_file() and not p.is_symlink()):
            foreign.append(p.name)  # (a killed split writer's temporary file is ours too)
    return foreign


def _listing(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _refuse_unless_own_build(out: Path, advice: str) -> None:
    """A BuildError naming `out` unless it is a folder this builder made that holds nothing
    else; `advice` ends the message (what the user can do instead)."""
    if out.is_symlink() or not out.is_dir():
        raise BuildError(f"{out}: exists and is not a folder; {advice}")
    if not _is_our_build(out):
        raise BuildError(f"{out}: is a folder this builder did not make (no build.json of a sample "
                         f"dataset in it), so it is left untouched; {advice}")
    foreign = _foreign_entries(out)
    if foreign:
        raise BuildError(f"{out}: a build that also holds files it did not write ({_listing(foreign)}), "
                         f"so it is left untouched: move them out first, or {advice}")


def _check_target(out: Path) -> None:
    """Refuse to build over anything but nothing, an empty folder, or an earlier build of ours
    that holds nothing else."""
    if not out.exists() and not out.is_symlink():
        return
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        return
    _refuse_unless_own_build(out, "choose a new or empty --out folder")


def _remove_stale_builds(parent: Path, name: str) -> None:
    """Temporary build folders of killed earlier builds (their pid no longer runs)."""
    remove_killed_folders(parent, f".{name}.tmp-*", BUILDING)


def remove_build(out: str | os.PathLike = SAMPLE_DIR) -> bool:
    """Delete a build folder of this builder; False when `out` does not exist. Anything
    else there (a file, a folder this builder did not make, even an empty one, or a build
    holding files it did not write) is a BuildError and nothing is deleted."""
    out = Path(out).expanduser()
    if not out.exists() and not out.is_symlink():
        return False
    _refuse_unless_own_build(out, "delete it yourself if you mean to")
    shutil.rmtree(out)
    return True


def build(out: str | os.PathLike = SAMPLE_DIR, n_train: int = 400, n_test: int = 40, seed: int = 0,
          photos_dir: str | os.PathLike = PHOTOS_DIR, test_frac: float = 0.15, workers: int | None = None,
          force: bool = False, progress: bool = True,
          extra_photos_dir: str | os.PathLike | None = EXTRA_PHOTOS_DIR) -> Path:
    """Build the dataset into `out` (skipped when `out` already holds this exact build).

    `out` must not exist, be empty, or hold an earlier build of this builder (its
    build.json says so); anything else is a BuildError and nothing is touched.
    """
    for name, n in (("train", n_train), ("test", n_test)):
        if int(n) != n or n < 1:
            raise BuildError(f"--{name} must be a whole number of images, at least 1; got {n}")
    if not 0 < test_frac < 1:
        raise BuildError(f"--test-frac must be between 0 and 1, got {test_frac}")
    out = Path(out).expanduser().resolve()
    _check_target(out)
    photos = list_photos(Path(photos_dir))
    extra = list_photos(Path(extra_photos_dir)) if extra_photos_dir else []
    config = _config(photos, extra, n_train, n_test, seed, test_frac)
    stamp = out / "build.json"
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("config") == config:
        print(f"{out}: already built with these settings (use --force to rebuild)")
        return out

    for p in photos + extra:  # fail on a bad photo now, by name, before any work starts
        load_photo(str(p))
    sources = split_sources(photos, test_frac, seed)
    sources["train"] = sources["train"] + extra
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out.parent, out.name)
    tmp, done = _partial(out, config)
    tasks = []
    for split, count in (("train", n_train), ("test", n_test)):
        srcs = sources[split]
        tasks += [(str(tmp), split, i, count, str(srcs[i % len(srcs)]), seed) for i in range(count)]
    todo = [t for t in tasks if image_name(t[1], t[2], t[3]) not in done.get(t[1], {})]
    if done:
        print(f"resuming the build in {tmp}: {len(tasks) - len(todo)} of {len(tasks)} images done earlier")

    t0 = time.perf_counter()
    workers = workers or min(os.cpu_count() or 1, 8)
    try:
        with ProcessPoolExecutor(workers) as pool, open(tmp / ROWS_LOG, "a") as log:
            for row in tqdm(pool.map(make_example, todo, chunksize=8), total=len(tasks), initial=len(tasks) - len(todo),
                            desc="building sample dataset", disable=not progress):
                log.write(json.dumps(row) + "\n")  # after its files: a logged image is complete
                log.flush()
                done.setdefault(row["split"], {})[row["name"]] = row
        meta = pd.DataFrame([done[t[1]][image_name(t[1], t[2], t[3])] for t in tasks])  # in task order
        train, test = meta[meta.split == "train"], meta[meta.split == "test"]
        train[["input_image_path", "gt_image_path"]].to_csv(tmp / "train.csv", index=False)
        test[["input_image_path"]].to_csv(tmp / "test.csv", index=False)
        meta.to_csv(tmp / "meta.csv", index=False)
        seconds = time.perf_counter() - t0
        (tmp / "build.json").write_text(json.dumps(
            {"builder": BUILDER, "config": config, "seconds": round(seconds, 2),
             "test_sources": [p.name for p in sources["test"]]}, indent=2))
        for name in (ROWS_LOG, PARTIAL_CONFIG, BUILDING):
            (tmp / name).unlink()
        _check_target(out)  # again: something may have appeared there while we built
        if out.exists():  # an earlier build of ours (or an empty folder): swap in the new one
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:  # on failure the partial folder stays: the same command resumes it
        marker = tmp / BUILDING
        if marker.exists() and marker.read_text() == str(os.getpid()):
            marker.write_text("")  # not running any more: the next build may take it over
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"built {out} in {seconds:.1f} s with {workers} worker(s): {len(tasks)} images, {size / 1e9:.2f} GB")
    return out


ROWS_LOG = "rows.jsonl"  # a partial build's finished images, one JSON row each
PARTIAL_CONFIG = "build-config.json"  # the settings a partial build was started with


def _partial(out: Path, config: dict) -> tuple[Path, dict]:
    """The hidden folder this build writes into, and the images it holds already ({split: {name: row}}):
    a killed build with the same settings is resumed, one with other settings started afresh."""
    tmp = out.parent / f".{out.name}.partial"
    done: dict = {}
    if tmp.exists():
        try:
            owner = (tmp / BUILDING).read_text().strip()
        except OSError:  # no marker: not a folder of ours, so never deleted
            raise BuildError(f"{tmp}: exists but is not a partial build of this builder; move it away") from None
        if owner and pid_alive(int(owner)):
            raise BuildError(f"{tmp}: another build (process {owner}) is writing this dataset; wait for it")
        try:
            same = json.loads((tmp / PARTIAL_CONFIG).read_text()) == config
        except (OSError, ValueError):
            same = False
        if same:
            for folder in IMAGE_FOLDERS:  # the killed workers' half-written images
                remove_stale_temps(tmp / folder)
            for line in (tmp / ROWS_LOG).read_text().splitlines() if (tmp / ROWS_LOG).is_file() else []:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # the line a kill cut short: that image is built again
                done.setdefault(row["split"], {})[row["name"]] = row
        else:
            shutil.rmtree(tmp)
    tmp.mkdir(exist_ok=True)
    (tmp / BUILDING).write_text(str(os.getpid()))
    (tmp / PARTIAL_CONFIG).write_text(json.dumps(config))
    return tmp, done


def write_zip(folder: str | os.PathLike, archive: str | os.PathLike, progress: bool = True) -> Path:
    """`folder` as DACON ships it: one zip of its CSVs and image folders (PNGs stored as they are),
    written to a temporary name and renamed when complete."""
    folder, archive = Path(folder), Path(archive)
    members = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
               and p.name not in ("build.json", *SPLIT_FILES)]
    total = sum(p.stat().st_size for p in members)

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf, \
                tqdm(total=total, unit="B", unit_scale=True, desc=f"zipping {archive.name}", disable=not progress) as bar:
            for p in members:
                zf.write(p, str(p.relative_to(folder)))
                bar.update(p.stat().st_size)

    return atomic_write(archive, write)
