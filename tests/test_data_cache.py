"""The training images' disk cache (helpers.training.data_cache): the same items as decoding, built once,
rebuilt for other data, skipped with a message when the disk is too small."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers.data.dacon import _fingerprint
from helpers.data.splits import read_split
from helpers.training import data_cache
from helpers.training.datasets import InpaintingCrops, RestorationDataset


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DACON_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def items(ds, indices):
    return [ds[i] for i in indices]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k]
                                        for k in a)


@pytest.mark.parametrize("prefill", [False, True])
def test_cached_items_equal_decoded_ones(split_dataset, cache_dir, prefill):
    rows = read_split(split_dataset, "train_split.csv")
    plain = RestorationDataset(rows, size=64, augment=True, prefill=prefill, seed=3)
    cached = RestorationDataset(rows, size=64, augment=True, prefill=prefill, seed=3, cache=True, progress=False)
    assert cached.cache_files is not None and plain.cache_files is None
    n = len(rows)
    indices = [0, 1, n - 1, n, n + 5, 3 * n + 2]  # several epochs: the flips follow (seed, epoch, item)
    assert all(same(a, b) for a, b in zip(items(plain, indices), items(cached, indices)))
    loader = torch.utils.data.DataLoader(cached, batch_size=4, num_workers=1)  # memory maps opened in the worker
    batch = next(iter(loader))
    assert torch.equal(batch["input"], torch.stack([plain[i]["input"] for i in range(4)]))


def test_a_cache_is_built_once_and_reused(split_dataset, cache_dir, monkeypatch):
    rows = read_split(split_dataset, "train_split.csv")
    first = RestorationDataset(rows, size=64, cache=True, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in first.cache_files.values()}
    monkeypatch.setattr(data_cache, "build", lambda *a, **k: pytest.fail("rebuilt an existing cache"))
    again = RestorationDataset(rows, size=64, cache=True, progress=False)
    assert again.cache_files == first.cache_files
    assert {p: p.stat().st_mtime_ns for p in again.cache_files.values()} == stamps
    assert data_cache.cache_key("f", ["a"], 64, {}) != data_cache.cache_key("f", ["a"], 128, {})  # per size


def test_changed_images_make_a_new_cache(split_dataset, cache_dir, tmp_path):
    copy = shutil.copytree(split_dataset, tmp_path / "copy")
    rows = read_split(copy, "train_split.csv")
    before = RestorationDataset(rows, size=64, cache=True, progress=False)
    victim = copy / rows.gt_image_path.iloc[0]
    other = copy / rows.gt_image_path.iloc[1]
    shutil.copyfile(other, victim)  # the user replaced a truth image
    _fingerprint.cache_clear()  # (a new process would not have it cached)
    after = RestorationDataset(rows, size=64, cache=True, progress=False)
    assert after.cache_files["gt"] != before.cache_files["gt"]
    assert np.array_equal(np.load(after.cache_files["gt"])[0], np.load(after.cache_files["gt"])[1])


def test_no_room_means_decoding_with_a_message(split_dataset, cache_dir, monkeypatch, capsys):
    rows = read_split(split_dataset, "train_split.csv")
    monkeypatch.setattr(data_cache.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**10, 10**10, 10**9))
    ds = RestorationDataset(rows, size=64, cache=True, progress=False)
    out = capsys.readouterr().out
    assert ds.cache_files is None and "not caching" in out and "GB free" in out
    assert not any(cache_dir.iterdir())
    assert same(ds[0], RestorationDataset(rows, size=64)[0])


def test_a_killed_builds_folder_is_removed_by_the_next_build(split_dataset, cache_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    leftover = cache_dir / ".somekey.tmp-abc"
    leftover.mkdir(parents=True)
    (leftover / data_cache.BUILDING).write_text(dead)
    (leftover / "gt.npy").write_bytes(b"\0" * 1000)
    foreign = cache_dir / ".user.tmp-keep"  # no builder's mark: not ours
    foreign.mkdir()
    RestorationDataset(read_split(split_dataset, "train_split.csv"), size=64, cache=True, progress=False)
    assert not leftover.exists() and foreign.exists()
    assert os.listdir(cache_dir)


def test_building_a_cache_leaves_the_random_numbers_of_training_alone(split_dataset, cache_dir):
    """A run whose cache exists already must draw the numbers one that builds it draws."""
    rows = read_split(split_dataset, "train_split.csv")
    torch.manual_seed(0)
    RestorationDataset(rows, size=64, prefill=True, cache=True, workers=1, progress=False)
    assert torch.equal(torch.rand(3), torch.manual_seed(0) and torch.rand(3))


def test_the_inpainters_crops_from_cached_gray_truths_equal_decoded_ones(split_dataset, cache_dir):
    truths = list(read_split(split_dataset, "train_split.csv").gt_image_path_abs)
    plain = InpaintingCrops(truths, [], crop=96, samples=5, seed=2)
    cached = InpaintingCrops(truths, [], crop=96, samples=5, seed=2, cache=True, progress=False)
    assert plain.cache_files is None and set(cached.cache_files) == {"gray"}
    assert all(same(a, b) for a, b in zip(items(plain, [0, 4, 7, 13]), items(cached, [0, 4, 7, 13])))
    loader = torch.utils.data.DataLoader(cached, batch_size=2, num_workers=1)
    assert torch.equal(next(iter(loader))["target"], torch.stack([plain[i]["target"] for i in range(2)]))


def test_a_crop_pool_is_drawn_once_and_each_item_is_a_turned_or_mirrored_pool_crop(split_dataset, cache_dir):
    truths = list(read_split(split_dataset, "train_split.csv").gt_image_path_abs)
    cached = InpaintingCrops(truths, [], crop=64, samples=6, seed=1, cache=True, pool=3, progress=False)
    drawn = InpaintingCrops(truths, [], crop=64, samples=6, seed=1, cache=False, pool=3)
    assert set(cached.cache_files) == {"input", "mask", "target"} and drawn.cache_files is None
    crops = [drawn.pool_crop(k) for k in range(3)]
    variants = {k: [np.rot90(c["target"], t) for t in range(4)] for k, c in enumerate(crops)}
    for index in (0, 5, 6, 17):  # several epochs
        a, b = cached[index], drawn[index]
        assert same(a, b)  # the same pool crop, whether read from the cache or drawn again
        target = a["target"][0].numpy()  # turned in the worker; the mirror ('flip') comes on the device
        assert any(np.array_equal(target, v) for vs in variants.values() for v in vs)
    assert sum(not same(cached[i], cached[0]) for i in range(1, 6)) > 0  # not one crop over and over


def test_the_crop_pool_follows_the_settings():
    from helpers.core.config import InpainterConfig
    assert InpainterConfig(samples_per_epoch=100, epochs=4, crop_reuse=8).crop_pool() == 50
    assert InpainterConfig(crop_reuse=1).crop_pool() == 0
