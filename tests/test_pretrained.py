"""The shipped default model and the export that makes it."""
import numpy as np
import pytest
import torch

from helpers.core.images import read_gray
from helpers.pipeline import shipped as pretrained
from helpers.pipeline.model_files import load_pipeline
from helpers.pipeline.restore import Restorer


def test_export_halves_the_weights_and_restores_like_the_run(tiny_runs, small_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "MAX_BYTES", 10**9)  # the tiny test run uses resnet18s: 57 MB in float16
    out = pretrained.export(tiny_runs / "gan", tmp_path / "model.pt")
    pipeline = load_pipeline(out)
    assert all(v.dtype == torch.float16 for v in pipeline.generator.state_dict.values() if v.is_floating_point())
    assert pipeline.notes["exported_from"] == str((tiny_runs / "gan").resolve())
    assert out.stat().st_size < 0.6 * (tiny_runs / "gan" / "best.pt").stat().st_size
    gray = read_gray(sorted((small_dataset / "test_input").glob("*.png"))[0])
    a = Restorer.load(out, backend="torch").restore(gray)[0]
    b = Restorer.load(tiny_runs / "gan", backend="torch").restore(gray)[0]
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0  # float16 rounding only


def test_export_refuses_a_model_over_the_budget(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="over the 0 MB budget"):
        pretrained.export(tiny_runs / "gan", tmp_path / "big.pt")
    assert not (tmp_path / "big.pt").exists()
    (tmp_path / "kept.pt").write_bytes(b"an earlier model")  # a refused export leaves it as it was
    with pytest.raises(ValueError, match="over the 0 MB budget"):
        pretrained.export(tiny_runs / "gan", tmp_path / "kept.pt")
    assert (tmp_path / "kept.pt").read_bytes() == b"an earlier model"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.pt"]  # no temporary file left


def test_shipped_model_fits_the_budget_and_restores_offline(small_dataset):
    path = pretrained.DEFAULT_MODEL
    assert path.is_file(), f"{path} missing: the project ships a default model"
    assert path.stat().st_size <= pretrained.MAX_BYTES
    assert (path.parent / "MODEL_CARD.md").is_file()
    r = Restorer.load(path)
    assert r.gen_spec.output == "ycbcr" and "ImageNet" in r.pipeline.provenance["generator"]["weights_note"]
    gray = read_gray(sorted((small_dataset / "test_input").glob("*.png"))[0])
    rgb, mask = r.restore(gray)
    assert rgb.shape == (512, 512, 3) and 0.005 < mask.mean() < 0.2
    from helpers.pipeline.colour import rgb_to_ycbcr
    chroma = rgb_to_ycbcr(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)[0, 1:] - 0.5
    assert chroma.abs().mean() > 0.005  # it colours, it does not answer gray


def test_export_attaches_a_learned_inpainter_to_a_prefill_generator(tiny_runs, tmp_path, monkeypatch):
    """How v2 was made from v1: the inpainter's fill replaces Telea's, only for a generator
    that was trained to colour a filled region."""
    monkeypatch.setattr(pretrained, "MAX_BYTES", 10**9)
    with pytest.raises(ValueError, match="without PREFILL"):
        pretrained.export(tiny_runs / "gan", tmp_path / "x.pt", inpainter=tiny_runs / "inpainter")
    assert not (tmp_path / "x.pt").exists()
    plain = tmp_path / "plain.pt"  # the tiny generator declared a prefill one, as v1 is
    run = load_pipeline(tiny_runs / "gan")
    run.generator.prefill = True
    run.inpainter = None
    from helpers.pipeline.model_files import write
    write(run, plain)
    out = pretrained.export(plain, tmp_path / "with.pt", weights="int8", inpainter=tiny_runs / "inpainter")
    pipeline = load_pipeline(out)
    assert pipeline.inpainter is not None and "inpainter" in pipeline.provenance
    assert pipeline.notes["inpainter_from"].endswith("best.pt")
    assert "learned inpainter" in Restorer(pipeline, backend="torch").describe()


def test_unpack_gives_the_shipped_mask_model_and_inpainter_as_runs(small_dataset, tmp_path):
    """A new generator trains on the shipped model's own mask model and inpainter: unpacked, they
    find the same region and fill it the same way as inside the shipped pipeline."""
    from helpers.pipeline.inpaint import learned_fill
    from helpers.pipeline.masking import predict_mask
    from helpers.pipeline.model_files import load_inpainter, load_mask
    runs = pretrained.unpack(pretrained.DEFAULT_MODEL, tmp_path)
    shipped = load_pipeline(pretrained.DEFAULT_MODEL)
    mask, inpainter = load_mask(runs["mask"]), load_inpainter(runs["inpainter"])
    assert all(v.dtype == torch.float32 for v in mask.mask.state_dict.values() if v.is_floating_point())
    gray = read_gray(sorted((small_dataset / "test_input").glob("*.png"))[0])
    with torch.inference_mode():
        region = predict_mask(mask.mask.network(), gray, mask.mask.scale, mask.mask.threshold)
        assert np.array_equal(region, predict_mask(shipped.mask.network(), gray, shipped.mask.scale,
                                                   shipped.mask.threshold))
        assert np.array_equal(learned_fill(inpainter.inpainter.network(), gray, region),
                              learned_fill(shipped.inpainter.network(), gray, region))
    before = (runs["mask"] / "best.pt").stat().st_mtime_ns
    pretrained.unpack(pretrained.DEFAULT_MODEL, tmp_path)  # an existing run is kept
    assert (runs["mask"] / "best.pt").stat().st_mtime_ns == before


def test_export_takes_the_mask_model_and_inpainter_of_another_pipeline(tiny_runs, tmp_path, monkeypatch):
    """How a new generator is paired with v2's own mask model and inpainter (the v3 candidates):
    the exported file holds v2's very weights (int8 again: requantising int8 values is exact)."""
    from helpers.pipeline.model_files import dequantize, write
    monkeypatch.setattr(pretrained, "MAX_BYTES", 10**9)
    v2 = load_pipeline(pretrained.SHIPPED["v2"])
    run = load_pipeline(tiny_runs / "gan")
    run.generator.prefill = True
    write(run, tmp_path / "prefill.pt")
    out = pretrained.export(tmp_path / "prefill.pt", tmp_path / "paired.pt", weights="int8",
                            mask=pretrained.SHIPPED["v2"], inpainter=pretrained.SHIPPED["v2"])
    paired = load_pipeline(out)
    for part in ("mask", "inpainter"):
        ours, theirs = dequantize(getattr(paired, part).state_dict), dequantize(getattr(v2, part).state_dict)
        assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours), part
        assert paired.provenance[part] == v2.provenance[part]
        assert paired.notes[f"{part}_from"] == str(pretrained.SHIPPED["v2"])
    assert paired.mask.threshold == v2.mask.threshold and paired.mask.scale == v2.mask.scale
    gen = dequantize(paired.generator.state_dict)  # the generator is the run's, not v2's
    assert gen.keys() == run.generator.state_dict.keys()
    with pytest.raises(ValueError, match="has no inpainter"):  # v1 keeps the Telea fill
        pretrained.export(tmp_path / "prefill.pt", tmp_path / "x.pt", inpainter=pretrained.SHIPPED["v1"])
    assert not (tmp_path / "x.pt").exists()
