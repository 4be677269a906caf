"""Run settings: one typed config per notebook stage, the single source of every default.

Each field of a training config carries what the code needs to know about it:
    resume     "same": a resumed run must have the value it was trained with (it shapes
               what is learnt); "free": may change on resume (how long, how fast, where,
               or only how the networks start, which a resume overwrites anyway)
    recipe     part of a named recipe (helpers.core.recipes: the seed's, the project's)
    inference  kept in the pipeline file: inference needs it besides the weights
A notebook's `parameters` cell holds the same names in upper case with the same
defaults (a test checks both ways), and `from_notebook` builds the config from the
notebook's variables, so a misspelt papermill parameter is an error, not a no-op.
A run folder's `config.json` holds the resolved settings, written when the run starts.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field, fields

SAME, FREE = "same", "free"


class ConfigError(ValueError):
    """A setting is unknown or has a value of the wrong kind (names it)."""


def setting(default, *, resume: str = SAME, recipe: bool = False, inference: bool = False, help: str = "",
            choices: tuple | None = None):
    """A config field with its default and what it is for (see the module docstring);
    choices: the only values it may take (also the notebook's drop-down in Colab)."""
    return field(default=default, metadata={"resume": resume, "recipe": recipe, "inference": inference,
                                            "help": help, "choices": choices})


WEIGHTS = ("imagenet", "efficientnet-lite0", None)
# Every choice list lives here, beside the settings that take it; the code that acts on a value imports it.
OUTPUTS, CHROMA, REGION_LUMA = ("rgb", "ycbcr"), ("regress", "bins"), ("generator", "base")  # helpers.pipeline.colour
FALLBACKS = ("random", "efficientnet-lite0", "error")
AMP = ("auto", "bf16", "fp16", "off")


@dataclass(frozen=True)
class DataLocation:
    """Where the dataset is (every notebook)."""
    data_dir: str = setting("", resume=FREE, help='empty: $DATA_DIR, i.e. the DACON data the first cell found or '
                                                  'staged (on this machine: the embedded sample); "sample": the '
                                                  'embedded sample dataset')


@dataclass(frozen=True)
class RunsLocation:
    """Where training runs live (notebooks 03-07)."""
    checkpoint_root: str = setting("", resume=FREE, help="empty: drive_checkpoints/ (Google Drive in Colab)")


@dataclass(frozen=True)
class Examples:
    """How many best and worst cases a notebook shows."""
    n_examples: int = setting(3, resume=FREE, help="best and worst images to show")


@dataclass(frozen=True)
class ExplorationConfig:
    """Notebook 01."""
    n_examples: int = setting(4, resume=FREE, help="rows in the example grid")
    seed: int = setting(0, resume=FREE, help="which images the grid shows")


@dataclass(frozen=True)
class SplitConfig:
    """Notebook 02: the train / validation split."""
    val_frac: float = setting(0.2, help="share of the training images (whole source photos) kept for validation")
    seed: int = setting(0)


@dataclass(frozen=True)
class TrainConfig:
    """What every training stage has."""
    run: str = setting("run", resume=FREE, help="run folder name under the checkpoint root")
    encoder_name: str = setting("resnet34", recipe=True, help="smp encoder of the U-Net")
    encoder_weights: str | None = setting("imagenet", resume=FREE, recipe=True, choices=WEIGHTS,
                                          help='"imagenet" (download), "efficientnet-lite0" (offline package) or None')
    weights_fallback: str = setting("efficientnet-lite0", resume=FREE, recipe=True, choices=FALLBACKS,
                                    help='if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"')
    batch_size: int = setting(16)
    epochs: int = setting(30, resume=FREE)
    checkpoint_every: int = setting(3, resume=FREE, help="epochs between checkpoints")
    keep_checkpoints: int = setting(2, resume=FREE, help="newest epoch checkpoints kept (besides best.pt); 0: all")
    val_limit: int = setting(0, resume=FREE, help="validate on the first N validation images (0: all)")
    steps_per_epoch: int = setting(0, resume=FREE, help="stop each epoch after this many steps (0: a whole pass); "
                                                       "a quick check of a new dataset, or a bounded run at scale")
    num_workers: int = setting(-1, resume=FREE, help="data-loader workers (-1: one per CPU core but one, at most 8)")
    amp: str = setting("auto", resume=FREE, choices=AMP,
                       help='mixed precision: "auto" (bf16 or fp16 on a GPU, off on the CPU), "bf16", "fp16" or "off"')
    processes: int = setting(1, resume=FREE, help="training processes (DDP, one per GPU; 0: one per visible GPU)")
    seed: int = setting(0)

    def check(self) -> None:
        """Values of the right kind and range; a ConfigError names the field."""
        for f in fields(self):
            value = getattr(self, f.name)
            kinds = _KINDS.get(f.type, ())
            if kinds and not (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
                raise ConfigError(f"{f.name} = {value!r}: expected {f.type}")
        for name in ("batch_size", "epochs", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices is not None and getattr(self, f.name) not in choices:
                raise ConfigError(f"{f.name} must be one of {choices}, got {getattr(self, f.name)!r}")
        if min(self.keep_checkpoints, self.processes, self.steps_per_epoch) < 0 or self.num_workers < -1:
            raise ConfigError("keep_checkpoints, processes and steps_per_epoch must be >= 0, num_workers >= -1")

    def decay_horizon(self) -> int:
        """Epochs over which a decaying learning rate reaches 0 (the mask model, the inpainter)."""
        return self.epochs


@dataclass(frozen=True)
class ResizedTrainConfig(TrainConfig):
    """A stage whose networks see whole images resized (the mask model, the generator); the
    learned inpainter works at full resolution instead, on crops."""
    image_size: int = setting(256, inference=True, help="the networks see images resized to this")

    def check(self) -> None:
        super().check()
        if self.image_size < 32 or self.image_size % 32:
            raise ConfigError(f"image_size must be a positive multiple of 32 (U-Net strides), got {self.image_size}")


_KINDS = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "str | None": (str, type(None))}


@dataclass(frozen=True)
class MaskConfig(ResizedTrainConfig):
    """Notebook 03: the mask model, an smp U-Net finding the lost region from the input alone."""
    run: str = setting("mask", resume=FREE, help="run folder name under the checkpoint root")
    encoder_name: str = setting("timm-tf_efficientnet_lite0", recipe=True, help="smp encoder of the U-Net")
    encoder_weights: str | None = setting("efficientnet-lite0", resume=FREE, recipe=True, choices=WEIGHTS,
                                          help='"imagenet" (download), "efficientnet-lite0" (offline package) or None')
    batch_size: int = setting(16)
    epochs: int = setting(10, resume=FREE)
    lr: float = setting(1e-3, recipe=True, help="AdamW learning rate (cosine decay over the epochs)")
    weight_decay: float = setting(1e-4, recipe=True)
    threshold: float = setting(0.5, inference=True, help="P(lost) above which a pixel is lost")
    val_limit: int = setting(500, resume=FREE, help="validate on the first N validation images (0: all)")
    cache: bool = setting(True, resume=FREE, help="decode and resize the training images once into a disk cache, "
                                                  "reused by every epoch and run (helpers.training.data_cache)")


@dataclass(frozen=True)
class InpainterConfig(TrainConfig):
    """Notebook 04: the learned inpainter, an smp U-Net that fills the lost region's luminance.

    It works at full resolution (one network pixel per image pixel, so it has no image_size),
    trained on crops around regions drawn on the fly on the training truths' gray (and on
    any extra photos), so its pairs are unlimited: an epoch is `samples_per_epoch` of them.
    """
    run: str = setting("inpainter", resume=FREE, help="run folder name under the checkpoint root")
    encoder_name: str = setting("timm-tf_efficientnet_lite0", recipe=True, help="smp encoder of the U-Net")
    encoder_weights: str | None = setting("efficientnet-lite0", resume=FREE, recipe=True, choices=WEIGHTS,
                                          help='"imagenet" (download), "efficientnet-lite0" (offline package) or None')
    crop_size: int = setting(256, help="side of the training crops around each region (at full scale)")
    samples_per_epoch: int = setting(8000, help="damaged crops drawn per epoch")
    crop_reuse: int = setting(8, help="times each damaged crop is used on average, in its 8 rotations and mirrors: "
                                      "samples_per_epoch x epochs / this many crops are drawn once and cached (the "
                                      "loader then only reads); 1: a new crop, with its Telea fill, for every item")
    batch_size: int = setting(16)
    epochs: int = setting(20, resume=FREE)
    lr: float = setting(1e-3, recipe=True, help="AdamW learning rate (cosine decay over DECAY_EPOCHS)")
    decay_epochs: int = setting(0, resume=FREE, help="epochs over which the learning rate decays to 0 (0: EPOCHS); "
                                                     "a run to be extended later (a scaling curve) sets its horizon here")
    weight_decay: float = setting(1e-4, recipe=True)
    ssim_weight: float = setting(1.0, recipe=True, help="loss = L1 + this x (1 - SSIM), inside the region")
    extra_photos: str = setting("", help="a folder of colour photos to draw crops from too (empty: the training split only)")
    init_inpainter: str = setting("", resume=FREE,
                                  help="an inpainter run or a pipeline file (a shipped model) whose inpainter starts "
                                       "this run in place of the ImageNet encoder and a zero head (fine-tuning, "
                                       "e.g. training v2's further); the same network. Empty: start fresh")
    val_limit: int = setting(500, resume=FREE, help="validate on the first N validation images (0: all)")
    cache: bool = setting(True, resume=FREE, help="cache the crop pool (or with CROP_REUSE = 1 the training truths' gray) "
                                                  "on disk once, reused by every epoch and run (helpers.training.data_cache)")

    def check(self) -> None:
        super().check()
        if self.crop_reuse < 1:
            raise ConfigError(f"crop_reuse must be at least 1, got {self.crop_reuse}")
        if self.decay_epochs < 0:
            raise ConfigError(f"decay_epochs must be >= 0, got {self.decay_epochs}")

    def decay_horizon(self) -> int:
        return self.decay_epochs or self.epochs

    def crop_pool(self) -> int:
        """Damaged crops drawn once for the whole run (0: a new one for every item). With a longer
        run (epochs raised on resume) the pool grows; its first crops stay the same."""
        return 0 if self.crop_reuse <= 1 else -(-self.samples_per_epoch * self.epochs // self.crop_reuse)


@dataclass(frozen=True)
class GanConfig(ResizedTrainConfig):
    """Notebook 05: the pix2pix generator (an smp U-Net) against a PatchGAN.

    Defaults: the project's recipe, for a GPU on the full data (the levers that won on
    validation, docs/results.md, on the design card's resnet34 U-Net from ImageNet weights;
    offline that download fails and the packaged ImageNet EfficientNet-Lite0 encoder takes
    its place, as notebooks/params/project_recipe.yaml asks). The seed's recipe is
    notebooks/params/seed_recipe.yaml.
    """
    run: str = setting("gan", resume=FREE, help="run folder name under the checkpoint root")
    mask_run: str = setting("mask", help="the mask model's run (notebook 03)")
    inpainter_run: str = setting("inpainter", resume=FREE,
                                 help="the learned inpainter's run (notebook 04) whose fill the pipeline keeps in "
                                      "the region (with PREFILL); empty: Telea's")
    output: str = setting("ycbcr", recipe=True, inference=True, choices=OUTPUTS,
                          help='"ycbcr": keep the known luminance; "rgb": the seed\'s recipe')
    chroma: str = setting("regress", recipe=True, inference=True, choices=CHROMA,
                          help='"bins": a class per chroma bin (needs ycbcr); "regress": two chroma channels (L1)')
    ce_weight: float = setting(1.0, recipe=True, help="weight of the rebalanced chroma-bin cross-entropy (chroma bins)")
    mask_input: bool = setting(True, recipe=True, inference=True,
                               help="give the generator the lost region as a second channel")
    photo_crops: int = setting(0, help="0: train on the training split's images; N: on N new crops an epoch, cut from "
                                       "the photos those images came from (the sample dataset's meta.csv names them; "
                                       "they are looked up in data/photos and data/photos_extra) and damaged the same way")
    init_generator: str = setting("", resume=FREE,
                                  help="a pipeline file (a shipped model) or GAN run whose generator starts this run in "
                                       "place of the ImageNet encoder and a gray head (fine-tuning); the same "
                                       "network and OUTPUT, CHROMA, MASK_INPUT and PREFILL. Empty: start fresh")
    freeze_encoder: bool = setting(False, recipe=True,
                                   help="train the decoder only: the encoder keeps its starting (ImageNet) weights "
                                        "and statistics, all but its first convolution, which learns the mask channel")
    lr_g: float = setting(1e-4, recipe=True)
    lr_d: float = setting(2e-4, recipe=True)
    beta1: float = setting(0.5, recipe=True)
    beta2: float = setting(0.999, recipe=True)
    l1_weight: float = setting(100.0, recipe=True)
    adv_weight: float = setting(1.0, recipe=True, help="0: no discriminator at all")
    adv_start_epoch: int = setting(1, recipe=True, help="L1 only before this epoch")
    prefill: bool = setting(True, recipe=True, inference=True,
                            help="show the generator the lost region filled by Telea inpainting")
    region_luma: str = setting("base", recipe=True, inference=True, choices=REGION_LUMA,
                               help='"base": keep the fill\'s luminance in the region; "generator": it corrects it')
    hue_weight: float = setting(0.0, recipe=True, help="weight of the soft hue-histogram loss (the score's C)")
    tta: bool = setting(False, recipe=True, inference=True,
                        help="validate with flip test-time augmentation (inference then does the same)")
    ema: float = setting(0.99, recipe=True, help="exponential moving average of the generator (decay per step; 0: off)")
    val_limit: int = setting(300, resume=FREE, help="validate on the first N validation images (0: all)")
    cache: bool = setting(True, resume=FREE, help="decode and resize the training images once into a disk cache, "
                                                  "reused by every epoch and run (helpers.training.data_cache)")

    def check(self) -> None:
        super().check()
        if self.chroma == "bins" and self.output != "ycbcr":
            raise ConfigError("chroma 'bins' needs output 'ycbcr' (it classifies Cb and Cr; RGB has no such pair)")


@dataclass(frozen=True)
class InferenceConfig:
    """Notebook 06: restore the test inputs, zip and score them."""
    run: str = setting("gan", resume=FREE, help='the GAN run whose best.pt restores the images; "default": the shipped model')
    out_dir: str = setting("", resume=FREE, help="empty: <run folder>/submission (default-submission in the work folder, runs/ locally, "
                                                            "for the shipped model)")
    allow_incomplete: bool = setting(False, resume=FREE, help="write the zip even if some test images failed")
    launch_app: bool = setting(False, resume=FREE, help="serve the restore-your-photo web page at the end "
                                                         "(a public link in Colab)")


@dataclass(frozen=True)
class SweepConfig:
    """Notebook 07: a sweep of a notebook with papermill, and its leaderboard (helpers.sweep)."""
    sweep_file: str = setting("notebooks/params/sweeps/example.yaml", resume=FREE,
                              help="the sweep (YAML), relative to the repository or absolute")
    extra_files: str = setting("", resume=FREE, help="parameter files applied after the sweep's base_files, "
                                                      "comma-separated (relative to notebooks/params/)")
    kernel: str = setting("", resume=FREE, help="Jupyter kernel of the points (empty: the notebook's, python3)")


# Each notebook's parameters: the fields of these configs, in upper case (a test checks it).
NOTEBOOK_CONFIGS = {
    "01_data_exploration": (DataLocation, ExplorationConfig),
    "02_dataset_split": (DataLocation, SplitConfig),
    "03_mask_generator": (DataLocation, RunsLocation, MaskConfig, Examples),
    "04_inpainter": (DataLocation, RunsLocation, InpainterConfig, Examples),
    "05_gan_training": (DataLocation, RunsLocation, GanConfig),
    "06_inference_and_zip": (DataLocation, RunsLocation, InferenceConfig, Examples),
    "07_sweep": (DataLocation, RunsLocation, SweepConfig),
}


# Names settings had in run folders written before this module; read as today's.
RENAMED = {"size": "image_size"}
RETIRED = {"n_samples", "arch"}  # settings that no longer exist (ignored when comparing)


def field_names(cls, where: str | None = None, value=True) -> list[str]:
    """Names of cls's fields, all of them or those whose metadata[where] == value."""
    return [f.name for f in fields(cls) if where is None or f.metadata.get(where) == value]


def make(cls, values: dict | None = None, origin: str = "settings"):
    """cls from a dict of field values; unknown names are a ConfigError with the closest known ones."""
    values = {RENAMED.get(k, k): v for k, v in (values or {}).items()}
    known = field_names(cls)
    unknown = [k for k in values if k not in known]
    if unknown:
        hints = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        raise ConfigError(f"{origin}: unknown setting(s) " + ", ".join(
            f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
            + f" for {cls.__name__}")
    cfg = cls(**values)
    if hasattr(cfg, "check"):
        cfg.check()
    return cfg


def as_dict(cfg) -> dict:
    """Plain values (what checkpoints and config.json hold)."""
    return dataclasses.asdict(cfg)


def resume_differences(saved: dict, cfg) -> list[str]:
    """'name: saved -> now' for every setting a resume may not change (saved: a checkpoint's config).

    A setting the saved run did not have yet counts as its default; retired ones are ignored.
    """
    old = {RENAMED.get(k, k): v for k, v in saved.items() if k not in RETIRED}
    diffs = []
    for f in fields(cfg):
        if f.metadata.get("resume") != SAME:
            continue
        before = old.get(f.name, f.default)
        now = getattr(cfg, f.name)
        if before != now:
            diffs.append(f"{f.name}: {before!r} -> {now!r}")
    return diffs


# Names a notebook defines besides its parameters (the environment cell's).
NOTEBOOK_NAMES = {"IN_COLAB", "IN_KAGGLE"}


def notebook_parameters(namespace: dict) -> dict:
    """The UPPER_CASE plain values (str, number, bool, None) of a notebook's namespace: its
    parameters, papermill's included (imported constants such as paths are not plain values;
    call this before importing plain upper-case constants)."""
    return {k: v for k, v in namespace.items()
            if k.isupper() and not k.startswith("_") and k not in NOTEBOOK_NAMES
            and (v is None or isinstance(v, (str, int, float, bool)))}


def from_notebook(namespace: dict, *classes):
    """One config per class from a notebook's parameters (UPPER_CASE field names).

    Every UPPER_CASE variable must be a field of one of the classes: a papermill
    parameter with a typo (`-p EPOCH 5`) is a ConfigError naming it and the closest
    known parameter, instead of a variable nobody reads.
    """
    params = {k.lower(): v for k, v in notebook_parameters(namespace).items()}
    known = {name for cls in classes for name in field_names(cls)}
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        hints = {k: difflib.get_close_matches(k, sorted(known), n=1) for k in unknown}
        raise ConfigError("unknown notebook parameter(s): " + ", ".join(
            k.upper() + (f" (did you mean {h[0].upper()}?)" if h else "") for k, h in hints.items()))
    return tuple(make(cls, {k: v for k, v in params.items() if k in field_names(cls)}, "notebook parameters")
                 for cls in classes)


def notebook_settings(notebook: str, namespace: dict) -> tuple:
    """The configs of a numbered notebook (NOTEBOOK_CONFIGS) from its parameters, checked."""
    return from_notebook(namespace, *NOTEBOOK_CONFIGS[notebook])
