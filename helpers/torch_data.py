"""PyTorch dataset over DACON-format rows: gray input, colour truth and lost-region mask."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset

from .dacon_data import IMAGE_SIZE, lost_region_mask
from .images import read_gray, read_rgb
from .inpaint import telea


def _resize(a: np.ndarray, size: int, resample) -> np.ndarray:
    if a.shape[0] == size and a.shape[1] == size:
        return a
    return np.asarray(Image.fromarray(a).resize((size, size), resample))


class RestorationDataset(Dataset):
    """Items {'input': (1,S,S), 'base': (1,S,S), 'gt': (3,S,S), 'mask': (1,S,S), 'name'}; pixels in [0, 1].

    `rows` come from helpers.dacon_data.read_csv (the *_abs columns). Images are
    checked (mode, 512x512) as they are read, so a bad file fails by name. The mask
    is the score's: input != PIL-gray(truth). augment=True flips left-right at random,
    decided by (seed, epoch, item): an index i stands for item i % len and epoch i // len
    (helpers.training.EpochSampler), so workers and resumed runs agree.
    'base' is what the generator is shown: the input, or with prefill=True the input
    with the lost region filled by Telea inpainting (helpers.inpaint), as at inference.
    """

    def __init__(self, rows: pd.DataFrame, size: int = 256, augment: bool = False, with_gt: bool = True,
                 prefill: bool = False, seed: int = 0):
        self.inputs = list(rows["input_image_path_abs"])
        self.gts = list(rows["gt_image_path_abs"]) if with_gt else None
        self.size, self.augment, self.prefill, self.seed = size, augment, prefill, seed
        if prefill and not with_gt:
            raise ValueError("prefill needs the truth images (the lost region comes from them)")

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict:
        epoch, i = divmod(index, len(self))
        inp = read_gray(self.inputs[i], IMAGE_SIZE)
        item = {"name": Path(self.inputs[i]).name}
        arrays = {"input": _resize(inp, self.size, Image.Resampling.BILINEAR)[None]}
        if self.gts is not None:
            gt = read_rgb(self.gts[i], IMAGE_SIZE)
            mask = lost_region_mask(inp, gt).astype(np.uint8) * 255
            arrays["gt"] = _resize(gt, self.size, Image.Resampling.BILINEAR).transpose(2, 0, 1)
            arrays["mask"] = _resize(mask, self.size, Image.Resampling.NEAREST)[None]
        small = arrays["input"][0]
        arrays["base"] = (telea(small, arrays["mask"][0] > 0, grow=1) if self.prefill else small)[None]
        flip = self.augment and bool(np.random.default_rng([self.seed, epoch, i]).random() < 0.5)
        for k, a in arrays.items():
            t = torch.from_numpy(np.array(a)).float() / 255.0  # a copy: PIL arrays are read-only
            item[k] = t.flip(-1) if flip else t
        return item


class InpaintingCrops(Dataset):
    """Damaged crops drawn on the fly: {'input': Telea-prefilled gray, 'mask', 'target': true gray}, (1, C, C).

    Each item takes one image (a training truth, or a random 512 crop of an extra photo),
    turns it gray as the competition did, draws one lost region on it (helpers.damage),
    prefills the region with Telea and crops `crop` pixels around the region at full
    scale. Items depend on (seed, epoch, item) only, so a resumed run sees the same crops
    and every epoch new ones: index i stands for item i % len in epoch i // len
    (helpers.training.EpochSampler).
    """

    def __init__(self, truths: list[str], extra_photos: list[str], crop: int, samples: int, seed: int):
        self.truths, self.extra, self.crop, self.samples, self.seed = truths, extra_photos, crop, samples, seed
        if not truths and not extra_photos:
            raise ValueError("no images to draw damaged crops from")

    def __len__(self) -> int:
        return self.samples

    def _image(self, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.integers(len(self.truths) + len(self.extra)))
        if k < len(self.truths):
            return read_rgb(self.truths[k], IMAGE_SIZE)
        from .sample_data import load_photo, random_crop
        return random_crop(load_photo(self.extra[k - len(self.truths)]), rng)[0]

    def __getitem__(self, index: int) -> dict:
        from .damage import apply_damage, sample_damage
        from .images import to_gray
        epoch, i = divmod(index, self.samples)
        rng = np.random.default_rng([self.seed, epoch, i])
        gray = to_gray(self._image(rng))
        damage = sample_damage(rng, IMAGE_SIZE[0])
        mask = damage.mask
        prefill = telea(apply_damage(gray, damage), mask)
        ys, xs = np.nonzero(mask)
        c = self.crop
        cy = int(np.clip(rng.integers(ys.min(), ys.max() + 1) - c // 2, 0, gray.shape[0] - c))
        cx = int(np.clip(rng.integers(xs.min(), xs.max() + 1) - c // 2, 0, gray.shape[1] - c))
        window = (slice(cy, cy + c), slice(cx, cx + c))
        arrays = {"input": prefill[window], "mask": mask[window].astype(np.uint8) * 255, "target": gray[window]}
        flip = bool(rng.random() < 0.5)
        return {k: torch.from_numpy(np.ascontiguousarray(a[:, ::-1] if flip else a)).float()[None] / 255.0
                for k, a in arrays.items()}
