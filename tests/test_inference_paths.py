"""Inference beyond one 512 image: tiling, batching, the Telea prefill, flip TTA."""
import numpy as np
import pytest
import torch

from helpers.inpaint import telea
from helpers.predict import restore_folder
from helpers.restore import Restorer, colourise
from helpers.tiling import forward_tiled


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
    record = {**r.gen_record, "prefill": True, "output": "ycbcr"}
    head = r.generator.segmentation_head[0]
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    gray, mask = flat_region_image()
    rgb = colourise(r.generator, record, gray, mask)
    expected = telea(gray, mask)
    assert np.abs(rgb.astype(int) - expected[..., None]).max() <= 1


def test_batched_threaded_folder_matches_one_by_one(tiny_runs, small_dataset, tmp_path):
    r = Restorer.load(tiny_runs / "gan", tta=True)
    inputs = sorted((small_dataset / "test_input").glob("*.png"))[:5]
    fast = restore_folder(r, inputs, tmp_path / "fast", progress=False, batch_size=4, io_threads=2)
    plain = restore_folder(r, inputs, tmp_path / "plain", progress=False, batch_size=1, io_threads=0)
    assert fast.restored == plain.restored == [p.name for p in inputs]
    from helpers.images import read_rgb
    for p in inputs:
        a, b = read_rgb(tmp_path / "fast" / p.name), read_rgb(tmp_path / "plain" / p.name)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, p.name


def test_flip_tta_is_a_setting_of_the_restorer(tiny_runs):
    gray, _ = flat_region_image()
    with_tta = Restorer.load(tiny_runs / "gan", tta=True)
    without = Restorer.load(tiny_runs / "gan", tta=False)
    assert "flip TTA" in with_tta.describe() and "flip TTA" not in without.describe()
    a, b = with_tta.restore(gray)[0], without.restore(gray)[0]
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_onnx_runtime_backend_matches_eager_pytorch(tiny_runs, small_dataset, tmp_path):
    from helpers.images import read_gray
    fast, plain = Restorer.load(tiny_runs / "gan", backend="onnx"), Restorer.load(tiny_runs / "gan", backend="torch")
    assert "onnx backend" in fast.describe() and "torch backend" in plain.describe()
    gray = read_gray(sorted((small_dataset / "test_input").glob("*.png"))[0])
    (a, mask_a), (b, mask_b) = fast.restore(gray), plain.restore(gray)
    assert (mask_a != mask_b).mean() < 1e-3
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2
    odd = gray[:300, :200]  # any size goes through the exported network
    assert fast.restore(odd)[0].shape == (300, 200, 3)
    with pytest.raises(ValueError, match="backend must be"):
        Restorer.load(tiny_runs / "gan", backend="tensorrt")
