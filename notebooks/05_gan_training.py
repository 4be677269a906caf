# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/05_gan_training.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/05_gan_training.ipynb)

# %% [markdown]
# # 05 · GAN training
#
# pix2pix-style: the generator (an smp U-Net, resnet34 as on the design card) restores
# the damaged gray image in colour, and a PatchGAN discriminator judges (input, colour)
# pairs patch by patch. The defaults are the best recipe, meant for a GPU on the full
# data: `OUTPUT = "ycbcr"` keeps the known luminance outside the lost region,
# `MASK_INPUT` adds the lost region as an input channel, `PREFILL` shows the generator
# the region already filled by Telea and `REGION_LUMA = "base"` keeps a fill's luminance
# there (the learned inpainter's of notebook 04, `INPAINTER_RUN`), `EMA` validates and
# keeps a moving average of the generator's weights. `CHROMA = "bins"` classifies colour
# over quantised chroma bins instead of regressing it (an option: it tied with regression
# on the CPU budget, docs/results.md). Offline, the resnet34 ImageNet
# download fails and `WEIGHTS_FALLBACK` switches to the packaged ImageNet
# EfficientNet-Lite0 encoder. The seed's recipe (gray in, RGB out, BCE + 100 x L1, Adam
# 1e-4 / 2e-4, betas 0.5 / 0.999) is `notebooks/params/seed_recipe.yaml`, the recipe
# measured on CPU `project_recipe.yaml` (`papermill -f` them). Every parameter and its
# default is a field of `helpers.core.config.GanConfig`; the run folder's `config.json`
# records what a run used.
#
# On a GPU it trains in mixed precision (`AMP`); with `PROCESSES = 0` (or 2) it trains
# on every GPU (Kaggle's two T4s) with PyTorch DDP through torchrun (`helpers.training.launch`).
# Every epoch the whole pipeline is validated as inference runs it (lost region from the
# mask model of notebook 03) with the DACON score. Every `CHECKPOINT_EVERY` epochs a
# checkpoint (models, optimizers, RNG states, config, history, best score) goes to
# Drive-style storage, keeping the newest `KEEP_CHECKPOINTS`; re-running the notebook
# resumes from the newest one. `best.pt` holds the best generator with its mask model
# and inpainter: a complete pipeline for notebook 06.

# %%
# Environment: Colab, Kaggle or this machine (the same cell opens every notebook).
# Colab and Kaggle give every notebook a fresh machine: mount Drive (Colab, once per
# runtime), find this repository (a copy attached on Kaggle) or clone it (a fork: set
# DACON_REPO_URL first), put it on the path; helpers.core.runtime.setup installs what the
# platform lacks (never its torch) and finds or stages the data.
import glob
import importlib.util
import os
import subprocess
import sys

sim_root = os.environ.get("DACON_SIMULATED_ROOT", "/")  # "/" except in the test suite's simulations
IN_COLAB = importlib.util.find_spec("google.colab") is not None
IN_KAGGLE = bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE")) or os.path.isdir(os.path.join(sim_root, "kaggle/input"))
if IN_COLAB or IN_KAGGLE:
    if IN_COLAB and not os.path.isdir(os.path.join(sim_root, "content/drive/MyDrive")):
        from google.colab import drive  # mounted once per runtime: a sweep's kernels find it mounted

        drive.mount(os.path.join(sim_root, "content/drive"))
    copies = sorted(glob.glob(os.path.join(sim_root, "kaggle/input/*/helpers/core/runtime.py"))
                    + glob.glob(os.path.join(sim_root, "kaggle/input/*/*/helpers/core/runtime.py")))
    repo = os.path.join(sim_root, "content/dacon-photo-restore" if IN_COLAB else "tmp/dacon-photo-restore")
    repo = copies[0][: -len("/helpers/core/runtime.py")] if copies else repo
    if not os.path.isdir(repo):
        url = os.environ.get("DACON_REPO_URL", "https://github.com/dacon-photo-restore/dacon-photo-restore.git")
        if subprocess.run(["git", "clone", "-q", "--depth", "1", url, repo]).returncode != 0:
            raise RuntimeError(f"could not clone {url}: set DACON_REPO_URL to your copy's git address "
                               "(os.environ['DACON_REPO_URL'] = ...) and run this cell again; on Kaggle "
                               "without internet, attach a copy of the repository as a dataset instead")
    sys.path.insert(0, repo)
    os.environ["PYTHONPATH"] = os.pathsep.join([repo] + [p for p in [os.environ.get("PYTHONPATH")] if p])

from helpers.core.runtime import setup  # noqa: E402

setup()

# %% tags=["parameters"]
# @markdown DATA_DIR: empty: $DATA_DIR, i.e. the DACON data the first cell found or staged (on this machine: the embedded sample); "sample": the embedded sample dataset
DATA_DIR = ""  # @param {type:"string"}
# @markdown CHECKPOINT_ROOT: empty: drive_checkpoints/ (Google Drive in Colab)
CHECKPOINT_ROOT = ""  # @param {type:"string"}
# @markdown RUN: run folder name under the checkpoint root
RUN = "gan"  # @param {type:"string"}
# @markdown ENCODER_NAME: smp encoder of the U-Net
ENCODER_NAME = "resnet34"  # @param {type:"string"}
# @markdown ENCODER_WEIGHTS: "imagenet" (download), "efficientnet-lite0" (offline package) or None
ENCODER_WEIGHTS = "imagenet"  # @param {type:"raw"}
# @markdown WEIGHTS_FALLBACK: if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
WEIGHTS_FALLBACK = "efficientnet-lite0"  # @param ["random", "efficientnet-lite0", "error"]
BATCH_SIZE = 16  # @param {type:"integer"}
EPOCHS = 30  # @param {type:"integer"}
# @markdown CHECKPOINT_EVERY: epochs between checkpoints
CHECKPOINT_EVERY = 3  # @param {type:"integer"}
# @markdown KEEP_CHECKPOINTS: newest epoch checkpoints kept (besides best.pt); 0: all
KEEP_CHECKPOINTS = 2  # @param {type:"integer"}
# @markdown VAL_LIMIT: validate on the first N validation images (0: all)
VAL_LIMIT = 300  # @param {type:"integer"}
# @markdown STEPS_PER_EPOCH: stop each epoch after this many steps (0: a whole pass); a quick check of a new dataset, or a bounded run at scale
STEPS_PER_EPOCH = 0  # @param {type:"integer"}
# @markdown NUM_WORKERS: data-loader workers (-1: one per CPU core but one, at most 8)
NUM_WORKERS = -1  # @param {type:"integer"}
# @markdown AMP: mixed precision: "auto" (bf16 or fp16 on a GPU, off on the CPU), "bf16", "fp16" or "off"
AMP = "auto"  # @param ["auto", "bf16", "fp16", "off"]
# @markdown PROCESSES: training processes (DDP, one per GPU; 0: one per visible GPU)
PROCESSES = 1  # @param {type:"integer"}
SEED = 0  # @param {type:"integer"}
# @markdown IMAGE_SIZE: the networks see images resized to this
IMAGE_SIZE = 256  # @param {type:"integer"}
# @markdown MASK_RUN: the mask model's run (notebook 03)
MASK_RUN = "mask"  # @param {type:"string"}
# @markdown INPAINTER_RUN: the learned inpainter's run (notebook 04) whose fill the pipeline keeps in the region (with PREFILL); empty: Telea's
INPAINTER_RUN = "inpainter"  # @param {type:"string"}
# @markdown OUTPUT: "ycbcr": keep the known luminance; "rgb": the seed's recipe
OUTPUT = "ycbcr"  # @param ["rgb", "ycbcr"]
# @markdown CHROMA: "bins": a class per chroma bin (needs ycbcr); "regress": two chroma channels (L1)
CHROMA = "regress"  # @param ["regress", "bins"]
# @markdown CE_WEIGHT: weight of the rebalanced chroma-bin cross-entropy (chroma bins)
CE_WEIGHT = 1.0  # @param {type:"number"}
# @markdown MASK_INPUT: give the generator the lost region as a second channel
MASK_INPUT = True  # @param {type:"boolean"}
# @markdown PHOTO_CROPS: 0: train on the training split's images; N: on N new crops an epoch, cut from the photos those images came from (the sample dataset's meta.csv names them; they are looked up in data/photos and data/photos_extra) and damaged the same way
PHOTO_CROPS = 0  # @param {type:"integer"}
# @markdown INIT_GENERATOR: a pipeline file (a shipped model) or GAN run whose generator starts this run in place of the ImageNet encoder and a gray head (fine-tuning); the same network and OUTPUT, CHROMA, MASK_INPUT and PREFILL. Empty: start fresh
INIT_GENERATOR = ""  # @param {type:"string"}
# @markdown FREEZE_ENCODER: train the decoder only: the encoder keeps its starting (ImageNet) weights and statistics, all but its first convolution, which learns the mask channel
FREEZE_ENCODER = False  # @param {type:"boolean"}
LR_G = 0.0001  # @param {type:"number"}
LR_D = 0.0002  # @param {type:"number"}
BETA1 = 0.5  # @param {type:"number"}
BETA2 = 0.999  # @param {type:"number"}
L1_WEIGHT = 100.0  # @param {type:"number"}
# @markdown ADV_WEIGHT: 0: no discriminator at all
ADV_WEIGHT = 1.0  # @param {type:"number"}
# @markdown ADV_START_EPOCH: L1 only before this epoch
ADV_START_EPOCH = 1  # @param {type:"integer"}
# @markdown PREFILL: show the generator the lost region filled by Telea inpainting
PREFILL = True  # @param {type:"boolean"}
# @markdown REGION_LUMA: "base": keep the fill's luminance in the region; "generator": it corrects it
REGION_LUMA = "base"  # @param ["generator", "base"]
# @markdown HUE_WEIGHT: weight of the soft hue-histogram loss (the score's C)
HUE_WEIGHT = 0.0  # @param {type:"number"}
# @markdown TTA: validate with flip test-time augmentation (inference then does the same)
TTA = False  # @param {type:"boolean"}
# @markdown EMA: exponential moving average of the generator (decay per step; 0: off)
EMA = 0.99  # @param {type:"number"}
# @markdown CACHE: decode and resize the training images once into a disk cache, reused by every epoch and run (helpers.training.data_cache)
CACHE = True  # @param {type:"boolean"}

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from helpers.core.config import notebook_settings
from helpers.data.dacon import data_dir
from helpers.training.launch import train

_, _, config = notebook_settings("05_gan_training", globals())  # checked; a misspelt parameter is an error
root = data_dir(DATA_DIR or None)
print("dataset:", root)

# %% [markdown]
# ## TensorBoard
# Losses per step, the validation score parts per epoch and a sample grid are logged
# under the run folder. In Colab or Jupyter:
#
#     %load_ext tensorboard
#     %tensorboard --logdir drive_checkpoints/gan/tb
#
# (in Colab: `--logdir /content/drive/MyDrive/dacon-photo-restore/drive_checkpoints/gan/tb`);
# from a shell: `tensorboard --logdir drive_checkpoints`.

# %% [markdown]
# ## Training (resumes from the newest checkpoint of the run)

# %%
run = train("gan", config, root, CHECKPOINT_ROOT or None)  # one process, or DDP with PROCESSES
history = pd.DataFrame(run.history)
print("run folder:", run.dir, "  TensorBoard logs:", run.dir / "tb")

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2))
axes[0].plot(history.epoch, history.loss_G_l1, marker="o", label="L1")
axes[0].plot(history.epoch, history.loss_G_hue, marker="o", label="1 - hue correlation")
axes[0].set(xlabel="epoch", title="generator reconstruction losses")
axes[0].legend()
axes[1].plot(history.epoch, history.loss_G_adv, marker="o", label="G adversarial")
axes[1].plot(history.epoch, history.loss_D, marker="o", label="D")
axes[1].set(xlabel="epoch", title="adversarial losses")
axes[1].legend()
for part in ("S", "M", "C", "score"):
    axes[2].plot(history.epoch, history[part], marker="o", label=part)
axes[2].set(xlabel="epoch", title="validation (DACON score)")
axes[2].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Validation score per epoch

# %%
print(history[["epoch", "loss_G_l1", "loss_G_hue", "loss_G_adv", "loss_D", "S", "M", "C", "score"]]
      .round(4).to_string(index=False))
best = history.loc[history.score.idxmax()]
print(f"best: epoch {int(best.epoch)}, validation score {best.score:.4f} "
      f"(S {best.S:.4f}  M {best.M:.4f}  C {best.C:.4f}), kept as best.pt of the run")
print(f"training time: {history.seconds.sum():.0f} s over {len(history)} epochs")

# %%
# NBVAL_CHECK_OUTPUT
# What holds on any machine (the losses and scores above come out of training, which
# takes other float paths on another CPU; tests check those with tolerances).
parts = history[["S", "M", "C", "score"]]
print(f"epochs recorded: {history.epoch.tolist()}")
print(f"every loss finite: {bool(np.isfinite(history.filter(like='loss_')).all().all())}; "
      f"S, M, C, score within [-1, 1]: {bool(parts.apply(lambda c: c.between(-1, 1)).all().all())}; "
      f"score = 0.2 S + 0.4 M + 0.4 C: {bool(np.allclose(history.score, 0.2 * history.S + 0.4 * history.M + 0.4 * history.C))}")

# %% [markdown]
# ## Last epoch's validation samples: input | prediction | truth

# %%
last = sorted((run.dir / "samples").glob("epoch_*.png"))[-1]
plt.figure(figsize=(9, 12))
plt.imshow(Image.open(last))
plt.axis("off")
plt.title(last.name)
plt.show()
