"""Inference beyond one 512 image: tiling, batching, the Telea prefill, flip TTA."""
import dataclasses

import numpy as np
import pytest
import torch

from helpers.networks.tiling import forward_tiled
from helpers.pipeline.folder import restore_folder
from helpers.pipeline.inpaint import telea
from helpers.pipeline.restore import Restorer, colourise


class Recorder(torch.nn.Module):
    """A pointwise network (1x1 conv) that remembers the largest input it was given."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 1)
        self.largest = 0

    def forward(self, x):
        self.largest = max(self.largest, x.shape[-2] * x.shape[-1])
        return self.conv(x)


def test_tiled_forward_bounds_the_input_and_blends_without_seams():
    net = Recorder()
    x = torch.rand(2, 1, 640, 1088)
    with torch.no_grad():
        whole = net.conv(x)
        tiled = forward_tiled(net, x, tile=256, overlap=64)
    assert net.largest == 256 * 256
    assert torch.allclose(tiled, whole, atol=1e-5)  # a pointwise net: blending must reproduce it exactly
    small = torch.rand(1, 1, 256, 192)
    with torch.no_grad():
        assert torch.equal(forward_tiled(net, small, tile=256, overlap=64), net.conv(small))


def flat_region_image(seed=0, shape=(256, 320)):
    rng = np.random.default_rng(seed)
    gray = np.clip(rng.normal(120, 20, shape), 0, 255).astype(np.uint8)
    mask = np.zeros(shape, bool)
    mask[100:150, 60:140] = True
    gray[mask] = 5
    return gray, mask


def test_telea_fills_only_the_region():
    gray, mask = flat_region_image()
    filled = telea(gray, mask)
    assert np.array_equal(filled[~mask], gray[~mask])
    assert abs(int(filled[mask].mean()) - 120) < 20  # the flat dark fill is gone


def test_an_untrained_prefill_generator_answers_the_telea_fill_in_gray(tiny_runs):
    """With its output layer at zero, the prefill recipe starts from the classical answer."""
    r = Restorer.load(tiny_runs / "gan", backend="torch")
    record = dataclasses.replace(r.gen_spec, prefill=True, output="ycbcr")
    head = r.generator.segmentation_head[0]
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    gray, mask = flat_region_image()
    rgb = colourise(r.generator, record, gray, mask)
    expected = telea(gray, mask)
    assert np.abs(rgb.astype(int) - expected[..., None]).max() <= 1


class FakeRestorer:
    """A deterministic stand-in (pure NumPy): restore_folder's plumbing is tested exactly with it."""

    def __init__(self, fail_on=None):
        self.calls, self.fail_on = [], fail_on

    def restore(self, gray):
        self.calls.append(gray.shape)
        if self.fail_on is not None and (gray == self.fail_on).all(axis=(-2, -1)).any():
            raise MemoryError
        rgb = np.stack([gray, 255 - gray, gray // 2], axis=-1)
        return rgb, gray > 128


def test_batched_threaded_folder_matches_one_by_one(small_dataset, tmp_path):
    """Batching and threads change nothing: same files, same order, byte-identical output."""
    inputs = sorted((small_dataset / "test_input").glob("*.png"))[:5]
    fast = restore_folder(FakeRestorer(), inputs, tmp_path / "fast", progress=False, batch_size=4, io_threads=2,
                          masks_dir=tmp_path / "fast_masks")
    plain = restore_folder(FakeRestorer(), inputs, tmp_path / "plain", progress=False, batch_size=1, io_threads=0,
                           masks_dir=tmp_path / "plain_masks")
    assert fast.restored == plain.restored == [p.name for p in inputs]
    for p in inputs:
        assert (tmp_path / "fast" / p.name).read_bytes() == (tmp_path / "plain" / p.name).read_bytes()
        assert (tmp_path / "fast_masks" / p.name).read_bytes() == (tmp_path / "plain_masks" / p.name).read_bytes()


def test_only_small_images_share_a_network_call(tmp_path):
    """Full-resolution work is per image: a large photo never joins a batch (bounded memory)."""
    from helpers.core.images import save_png
    from helpers.pipeline.folder import BATCH_MAX_PIXELS
    src = tmp_path / "in"
    side = int(BATCH_MAX_PIXELS ** 0.5) + 32
    for name, shape in (("a", (64, 64)), ("b", (64, 64)), ("c", (side, side)), ("d", (side, side)), ("e", (64, 64))):
        save_png(np.full(shape, 100, np.uint8), src / f"{name}.png")
    fake = FakeRestorer()
    report = restore_folder(fake, sorted(src.iterdir()), tmp_path / "out", progress=False, batch_size=4)
    assert report.restored == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    assert fake.calls == [(2, 64, 64), (1, side, side), (1, side, side), (1, 64, 64)]


def test_read_ahead_is_bounded_by_the_pixels_in_the_headers(tmp_path, monkeypatch):
    """Large photos read ahead one or two at a time, whatever the first image was: each file's
    size comes from its header before it is queued (a folder of 120 MP scans would otherwise
    hold 2 x batch_size of them decoded at once)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from helpers.pipeline import folder as predict
    from helpers.core.images import save_png
    src = tmp_path / "in"
    for i in range(8):
        save_png(np.full((200, 200), 10 * i, np.uint8), src / f"img_{i}.png")
    monkeypatch.setattr(predict, "READ_AHEAD_BYTES", 100_000)  # room for two 40,000-pixel images
    read, used, most, lock = [], [], [0], threading.Lock()
    real = predict._read_or_problem

    def reading(path, convert):
        out = real(path, convert)
        with lock:
            read.append(path.name)
            most[0] = max(most[0], len(read) - len(used))
        return out
    monkeypatch.setattr(predict, "_read_or_problem", reading)
    with ThreadPoolExecutor(2) as pool:
        for path, (image, problem) in zip(sorted(src.iterdir()), predict._reads(pool, sorted(src.iterdir()), False, 8)):
            assert problem is None and image.gray[0, 0] == 10 * int(path.stem[-1])
            time.sleep(0.05)  # the networks' time: the pool could read far ahead meanwhile
            with lock:
                used.append(path.name)
    assert len(used) == 8 and most[0] <= 3  # the image in use and at most two waiting (depth 8 allows 8)


def test_one_image_failing_in_a_batch_fails_alone(tmp_path):
    """Out of memory (or any error) on one image: it is reported by name, the others are restored."""
    from helpers.core.images import save_png
    src = tmp_path / "in"
    for i, value in enumerate((10, 20, 30, 40)):
        save_png(np.full((32, 32), value, np.uint8), src / f"img_{i}.png")
    report = restore_folder(FakeRestorer(fail_on=30), sorted(src.iterdir()), tmp_path / "out", progress=False)
    assert report.restored == ["img_0.png", "img_1.png", "img_3.png"]
    assert report.failed == {"img_2.png": "ran out of memory restoring this 32x32 image"}


def test_banded_upsampling_equals_torch_interpolate():
    from helpers.networks.tensors import resize, upsample_rows
    small = torch.rand(2, 3, 37, 53)
    full = resize(small, (301, 417))
    for a, b in ((0, 301), (0, 40), (40, 41), (150, 301)):
        assert torch.allclose(upsample_rows(small, (301, 417), a, b), full[:, :, a:b], atol=1e-5)


def test_telea_and_snapping_work_in_the_region_box_with_identical_results():
    """Both are computed in the region's bounding box (bounded time and memory for large photos)."""
    import cv2
    from helpers.pipeline.masking import _snap
    from helpers.pipeline.masking import snap_to_fill
    rng = np.random.default_rng(1)
    for _ in range(20):
        gray = cv2.GaussianBlur(rng.integers(0, 256, (300, 400)).astype(np.uint8), (5, 5), 0)
        mask = np.zeros(gray.shape, bool)
        y, x = rng.integers(0, 250), rng.integers(0, 350)
        mask[y:y + rng.integers(3, 50), x:x + rng.integers(3, 50)] = True
        whole = cv2.inpaint(gray, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
        assert np.array_equal(telea(gray, mask), whole)
        gray[mask] = 7
        coarse = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert np.array_equal(snap_to_fill(gray, coarse, radius=4), _snap(gray, coarse, 4, 0.6))


def test_flip_tta_is_a_setting_of_the_restorer(tiny_runs):
    gray, _ = flat_region_image()
    with_tta = Restorer.load(tiny_runs / "gan", tta=True)
    without = Restorer.load(tiny_runs / "gan", tta=False)
    assert "flip TTA" in with_tta.describe() and "flip TTA" not in without.describe()
    a, b = with_tta.restore(gray)[0], without.restore(gray)[0]
    assert a.shape == b.shape and not np.array_equal(a, b)


# Why these bounds: ONNX Runtime and eager PyTorch run the same float32 network with
# different kernels (and each picks its kernels by CPU: AVX2, AVX-512, AMX...), which sum
# in different orders. Measured on AVX-512 and on generic kernels (ATEN_CPU_CAPABILITY=
# default): raw outputs differ by at most 6e-6 of their scale. 2e-3 leaves a margin of
# several hundred for other CPUs, while a real defect (other weights, input scaling,
# a missing channel) changes outputs by the order of their scale. A pixel at the mask
# threshold may still flip and move the Telea fill around it, so final images are
# compared with the same mask: a raw difference of 2e-3 moves an 8-bit value by at most
# one level, so the 99.9th percentile is at most 1 and the mean far below 0.1.
RAW_TOLERANCE = 2e-3


def test_onnx_runtime_backend_matches_eager_pytorch(tiny_runs, small_dataset):
    from helpers.core.images import read_gray
    from helpers.pipeline.masking import mask_logits
    from helpers.pipeline.restore import compose_full, generator_output
    fast, plain = Restorer.load(tiny_runs / "gan", backend="onnx"), Restorer.load(tiny_runs / "gan", backend="torch")
    assert "onnx backend" in fast.describe() and "torch backend" in plain.describe()
    scale = fast.mask_spec.scale
    for path in sorted((small_dataset / "test_input").glob("*.png"))[:3]:
        gray = read_gray(path)[None]
        lf, lp = mask_logits(fast.mask_model, gray, scale), mask_logits(plain.mask_model, gray, scale)
        assert (lf - lp).abs().max() <= RAW_TOLERANCE * max(1.0, float(lp.abs().max())), path.name
        mask = fast.find_mask(gray)
        out_f, base = generator_output(fast.generator, fast.gen_spec, gray, mask, fast.tta)
        out_p, _ = generator_output(plain.generator, plain.gen_spec, gray, mask, plain.tta)
        assert (out_f - out_p).abs().max() <= RAW_TOLERANCE * max(1.0, float(out_p.abs().max())), path.name
        diff = np.abs(compose_full(out_f, fast.gen_spec, gray, mask, base).astype(int)
                      - compose_full(out_p, plain.gen_spec, gray, mask, base))
        assert diff.mean() <= 0.1 and np.percentile(diff, 99.9) <= 1, path.name
    odd = read_gray(path)[:300, :200]  # any size goes through the exported network
    assert fast.restore(odd)[0].shape == (300, 200, 3)
    with pytest.raises(ValueError, match="backend must be"):
        Restorer.load(tiny_runs / "gan", backend="tensorrt")


def test_work_per_image_is_bounded_whatever_its_size(monkeypatch):
    """A network sees at most MAX_WORK_PIXELS of an image, and a lost region whose box is over
    FILL_MAX_PIXELS is filled at a reduced scale: only its pixels change, it matches the full-size
    fill closely, and the fill's own work is at most that many pixels (a 110 MP black scan, taken
    for lost almost whole, took 6 minutes and 4 GB before)."""
    from helpers.networks import tensors
    from helpers.pipeline import inpaint

    assert tensors.work_shape(512, 512, 0.5) == (256, 256)  # DACON's size: unchanged
    h, w = tensors.work_shape(10000, 11000, 0.5)
    assert h * w <= tensors.MAX_WORK_PIXELS * 1.05 and h / w == pytest.approx(10 / 11, rel=0.05)
    gray, mask = flat_region_image(shape=(384, 448))
    mask[40:340, 30:420] = True  # a region over most of the image
    gray[mask] = 128
    full = inpaint.telea(gray, mask)
    seen = []
    real = inpaint._fill_here
    monkeypatch.setattr(inpaint, "_fill_here", lambda g, k, net: seen.append(g.size) or real(g, k, net))
    monkeypatch.setattr(inpaint, "FILL_MAX_PIXELS", 96 * 96)
    bounded = inpaint.fill(gray, mask)
    assert max(seen) <= 96 * 96 * 1.05
    assert (bounded[~mask] == gray[~mask]).all()
    assert np.abs(bounded[mask].astype(int) - full[mask]).mean() < 12  # a smooth fill either way


def test_the_learned_fill_works_on_a_bounded_box_that_grows_with_the_image(monkeypatch):
    """The learned inpainter sees a region's box shrunk to LEARNED_FILL_PIXELS per 512x512 of image
    (the speed lever measured in docs/design_notes.md); Telea keeps filling at full size; only the
    region's pixels change."""
    from helpers.pipeline import inpaint

    seen = []
    monkeypatch.setattr(inpaint, "learned_fill", lambda net, g, k: seen.append(g.shape) or inpaint.telea(g, k))
    for side in (512, 1024):
        gray, mask = flat_region_image(shape=(side, side))
        mask[:] = False
        mask[side // 8: side * 5 // 8, side // 4: side * 7 // 8] = True  # a box of 0.33 of the image
        gray[mask] = 5
        seen.clear()
        out = inpaint.fill(gray, mask, network=object())
        h, w = seen[0]
        assert h * w <= inpaint.LEARNED_FILL_PIXELS * (side / 512) ** 2 * 1.05
        assert h * w >= inpaint.LEARNED_FILL_PIXELS * (side / 512) ** 2 * 0.8
        assert (out[~mask] == gray[~mask]).all() and (out[mask] != 5).mean() > 0.9
    assert inpaint.fill_cap((512, 512), learned=False) == inpaint.FILL_MAX_PIXELS
