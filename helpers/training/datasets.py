"""PyTorch datasets over DACON-format rows: gray input, colour truth and lost-region mask
(RestorationDataset, decoded once into a disk cache with cache=True: helpers.training.data_cache),
and damaged crops drawn on the fly for the inpainter (InpaintingCrops)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset

from helpers.core.images import read_gray, read_rgb, to_gray
from helpers.data.dacon import lost_region_mask
from helpers.data.damage import apply_damage, sample_damage
from helpers.data.layout import IMAGE_SIZE
from helpers.data.photos import load_photo, random_crop
from helpers.pipeline.inpaint import telea
from helpers.training import data_cache


def _resize(a: np.ndarray, size: int, resample) -> np.ndarray:
    if a.shape[0] == size and a.shape[1] == size:
        return a
    return np.asarray(Image.fromarray(a).resize((size, size), resample))


class RestorationDataset(Dataset):
    """Items {'input': (1,S,S), 'base': (1,S,S), 'gt': (3,S,S), 'mask': (1,S,S), 'flip', 'name'}: uint8
    images, turned into float [0, 1] and flipped where 'flip' says by on_device (in the training step).

    `rows` come from helpers.data.dacon.read_csv (the *_abs columns). Images are
    checked (mode, 512x512) as they are read, so a bad file fails by name. The mask
    is the score's: input != PIL-gray(truth). augment=True draws left-right flips at random,
    decided by (seed, epoch, item): an index i stands for item i % len and epoch i // len
    (helpers.training.loop.EpochSampler), so workers and resumed runs agree.
    'base' is what the generator is shown: the input, or with prefill=True the input
    with the lost region filled by Telea inpainting (helpers.pipeline.inpaint), as at inference.
    """

    def __init__(self, rows: pd.DataFrame, size: int = 256, augment: bool = False, with_gt: bool = True,
                 prefill: bool = False, seed: int = 0, cache: bool = False, workers: int = 0, progress: bool = True):
        self.inputs = list(rows["input_image_path_abs"])
        self.gts = list(rows["gt_image_path_abs"]) if with_gt else None
        self.size, self.augment, self.prefill, self.seed = size, augment, prefill, seed
        if prefill and not with_gt:
            raise ValueError("prefill needs the truth images (the lost region comes from them)")
        self.cache_files = self.build_cache(workers, progress) if cache else None
        self._arrays: dict | None = None  # opened lazily, in each loader worker

    def __len__(self) -> int:
        return len(self.inputs)

    def shapes(self) -> dict[str, tuple]:
        s = self.size
        shapes = {"input": (1, s, s)}
        if self.gts is not None:
            shapes.update(gt=(3, s, s), mask=(1, s, s))
        if self.prefill:
            shapes["base"] = (1, s, s)
        return shapes

    def build_cache(self, workers: int, progress: bool) -> dict | None:
        """The cache of these rows at this size (built now if missing; None when it does not fit)."""
        key = data_cache.files_key(self.inputs, self.size, {"gt": self.gts is not None, "prefill": self.prefill})
        return data_cache.cached_or_built(key, len(self), self.shapes(), self.decode, workers, progress,
                                          f"training images at {self.size} px")

    def decode(self, i: int) -> dict[str, np.ndarray]:
        """Item i's uint8 arrays (channels first), from its PNG files."""
        inp = read_gray(self.inputs[i], IMAGE_SIZE)
        arrays = {"input": _resize(inp, self.size, Image.Resampling.BILINEAR)[None]}
        if self.gts is not None:
            gt = read_rgb(self.gts[i], IMAGE_SIZE)
            mask = lost_region_mask(inp, gt).astype(np.uint8) * 255
            arrays["gt"] = _resize(gt, self.size, Image.Resampling.BILINEAR).transpose(2, 0, 1)
            arrays["mask"] = _resize(mask, self.size, Image.Resampling.NEAREST)[None]
        if self.prefill:
            arrays["base"] = telea(arrays["input"][0], arrays["mask"][0] > 0, grow=1)[None]
        return arrays

    def arrays(self, i: int) -> dict[str, np.ndarray]:
        if self.cache_files is None:
            return self.decode(i)
        if self._arrays is None:
            self._arrays = data_cache.open_arrays(self.cache_files)
        return {k: a[i] for k, a in self._arrays.items()}

    def __getstate__(self) -> dict:  # loader workers open the memory maps themselves
        return {**self.__dict__, "_arrays": None}

    def __getitem__(self, index: int) -> dict:
        epoch, i = divmod(index, len(self))
        arrays = self.arrays(i)
        arrays.setdefault("base", arrays["input"])
        flip = self.augment and bool(np.random.default_rng([self.seed, epoch, i]).random() < 0.5)
        # uint8, unflipped: on_device converts and flips after the transfer (a quarter of float32's bytes)
        item = {k: torch.from_numpy(np.array(a)) for k, a in arrays.items()}  # a copy: memory maps are read-only
        return {**item, "flip": torch.tensor(flip), "name": Path(self.inputs[i]).name}


class PhotoRestorationCrops(Dataset):
    """RestorationDataset's items, each a new example: a random crop of one of `photos` (as the
    sample dataset cuts its images, helpers.data.photos.random_crop, mirrored at random) with one
    lost region drawn on it (helpers.data.damage), at `size` px. Index i stands for item
    i % samples in epoch i // samples (helpers.training.loop.EpochSampler) and depends on
    (seed, epoch, item) only, so workers and resumed runs agree; no two epochs repeat a crop.
    A fixed split of a few hundred crops is learnt by heart within minutes (docs/scaling.md);
    new crops of the same photos show the network other framings, scales and regions each time.
    """

    def __init__(self, photos: list, samples: int, size: int, prefill: bool = False, seed: int = 0):
        if not photos:
            raise ValueError("no photos to draw training crops from")
        self.photos, self.samples, self.size, self.prefill, self.seed = [str(p) for p in photos], samples, size, prefill, seed

    def __len__(self) -> int:
        return self.samples

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One example's uint8 arrays (channels first), as RestorationDataset.decode gives them."""
        gt, _ = random_crop(load_photo(self.photos[int(rng.integers(len(self.photos)))]), rng)
        inp = apply_damage(to_gray(gt), sample_damage(rng, IMAGE_SIZE[0]))
        mask = lost_region_mask(inp, gt).astype(np.uint8) * 255  # the score's mask, as for the split's images
        arrays = {"input": _resize(inp, self.size, Image.Resampling.BILINEAR)[None],
                  "gt": _resize(gt, self.size, Image.Resampling.BILINEAR).transpose(2, 0, 1),
                  "mask": _resize(mask, self.size, Image.Resampling.NEAREST)[None]}
        arrays["base"] = (telea(arrays["input"][0], arrays["mask"][0] > 0, grow=1)[None] if self.prefill
                          else arrays["input"])
        return arrays

    def __getitem__(self, index: int) -> dict:
        epoch, i = divmod(index, self.samples)
        arrays = self.draw(np.random.default_rng([self.seed, epoch, i]))
        return {**{k: torch.from_numpy(np.require(a, requirements="CW")) for k, a in arrays.items()},
                "flip": torch.tensor(False), "name": f"crop_{epoch}_{i}"}  # random_crop mirrors already


def on_device(batch: dict, dev: torch.device, keys) -> list[torch.Tensor]:
    """The batch's uint8 images `keys` as float [0, 1] on `dev`, each item mirrored left-right where
    its 'flip' says: the augmentation runs after the cache and the transfer, on the GPU where there is one."""
    flip = batch["flip"].to(dev, non_blocking=True).view(-1, 1, 1, 1)
    out = []
    for k in keys:
        x = batch[k].to(dev, non_blocking=True).float().div_(255)
        out.append(torch.where(flip, x.flip(-1), x))
    return out


class InpaintingCrops(Dataset):
    """Damaged crops: {'input': Telea-prefilled gray, 'mask', 'target': true gray, 'flip'}, (1, C, C) uint8.

    A crop takes one image (a training truth, or a random 512 crop of an extra photo),
    turns it gray as the competition did, draws one lost region on it (helpers.data.damage),
    prefills the region with Telea and crops `crop` pixels around the region at full
    scale. Index i stands for item i % len in epoch i // len (helpers.training.loop.EpochSampler)
    and items depend on (seed, epoch, item) only, so a resumed run sees the same crops.
    pool=0: every item is a new crop (Telea for each, in the loader workers). pool=P: P crops
    are drawn once (cached on disk, helpers.training.data_cache) and each item is one of them, drawn
    at random, in one of its 8 rotations and mirrors: the loader then only reads, and the
    Telea work is P crops per dataset instead of one per step. With cache=True (and no
    pool) the truths' gray is decoded once into the cache.
    """

    POOL_STREAM = 2 ** 31 - 1  # the pool's crops draw from (seed, POOL_STREAM, k): never an epoch's stream

    def __init__(self, truths: list[str], extra_photos: list[str], crop: int, samples: int, seed: int,
                 cache: bool = False, pool: int = 0, workers: int = 0, progress: bool = True):
        self.truths, self.extra, self.crop, self.samples, self.seed = truths, extra_photos, crop, samples, seed
        self.pool = pool
        if not truths and not extra_photos:
            raise ValueError("no images to draw damaged crops from")
        self._arrays: dict | None = None
        self.gray_files = self.pool_files = None
        if pool and cache:  # (uncached, or without room on disk, a pool crop is drawn again each time: the same crop)
            self.pool_files = self.build_pool(workers, progress)
        elif cache and truths:
            self.gray_files = self.build_gray_cache(workers, progress)

    def __len__(self) -> int:
        return self.samples

    @property
    def cache_files(self) -> dict | None:
        return self.pool_files or self.gray_files

    def build_gray_cache(self, workers: int, progress: bool) -> dict | None:
        key = data_cache.files_key(self.truths, IMAGE_SIZE[0], {"gray_truth": True})
        return data_cache.cached_or_built(key, len(self.truths), {"gray": IMAGE_SIZE}, self.decode, workers, progress,
                                          "training truths in gray")

    def build_pool(self, workers: int, progress: bool) -> dict | None:
        extra = [(Path(p).name, Path(p).stat().st_size) for p in self.extra]
        key = data_cache.files_key(self.truths, self.crop, {"crop_pool": self.pool, "seed": self.seed, "extra": extra})
        shapes = {k: (self.crop, self.crop) for k in ("input", "mask", "target")}
        return data_cache.cached_or_built(key, self.pool, shapes, self.pool_crop, workers, progress,
                                          f"damaged {self.crop} px crops (Telea-prefilled)")

    def decode(self, k: int) -> dict[str, np.ndarray]:
        return {"gray": to_gray(read_rgb(self.truths[k], IMAGE_SIZE))}

    def __getstate__(self) -> dict:  # loader workers open the memory maps themselves
        return {**self.__dict__, "_arrays": None}

    def _open(self) -> dict:
        if self._arrays is None:
            self._arrays = data_cache.open_arrays(self.cache_files)
        return self._arrays

    def _gray(self, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.integers(len(self.truths) + len(self.extra)))
        if k >= len(self.truths):
            return to_gray(random_crop(load_photo(self.extra[k - len(self.truths)]), rng)[0])
        if self.gray_files is None:
            return self.decode(k)["gray"]
        return np.array(self._open()["gray"][k])

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One damaged crop {'input', 'mask', 'target'}, (C, C) uint8, from the random stream rng."""
        gray = self._gray(rng)
        damage = sample_damage(rng, IMAGE_SIZE[0])
        mask = damage.mask
        prefill = telea(apply_damage(gray, damage), mask)
        ys, xs = np.nonzero(mask)
        c = self.crop
        cy = int(np.clip(rng.integers(ys.min(), ys.max() + 1) - c // 2, 0, gray.shape[0] - c))
        cx = int(np.clip(rng.integers(xs.min(), xs.max() + 1) - c // 2, 0, gray.shape[1] - c))
        window = (slice(cy, cy + c), slice(cx, cx + c))
        return {"input": prefill[window], "mask": mask[window].astype(np.uint8) * 255, "target": gray[window]}

    def pool_crop(self, k: int) -> dict[str, np.ndarray]:
        """The pool's crop k (drawn, not read: what the pool's cache holds)."""
        return self.draw(np.random.default_rng([self.seed, self.POOL_STREAM, k]))

    def __getitem__(self, index: int) -> dict:
        epoch, i = divmod(index, self.samples)
        rng = np.random.default_rng([self.seed, epoch, i])
        if not self.pool:
            arrays = self.draw(rng)
            flip = bool(rng.random() < 0.5)
        else:
            k, turn = int(rng.integers(self.pool)), int(rng.integers(8))
            arrays = ({n: a[k] for n, a in self._open().items()} if self.pool_files else self.pool_crop(k))
            # Telea run on the turned image would differ from the turned fill by 0.8 gray levels on average
            # in the region (20 sample images): the turned crops stand for new ones
            arrays = {n: np.rot90(a, turn % 4) for n, a in arrays.items()}
            flip = turn >= 4
        return {**{k: torch.from_numpy(np.require(a, requirements="CW"))[None] for k, a in arrays.items()},
                "flip": torch.tensor(flip)}  # the mirror is applied by on_device, like RestorationDataset's
