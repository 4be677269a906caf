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
#     display_name: Python (dacon-photo-restore)
#     language: python
#     name: dacon-photo-restore
# ---

# %% [markdown]
# # 05 · GAN training
#
# pix2pix-style: the generator (an smp U-Net, resnet34 by default) restores the damaged
# gray image in colour, and a PatchGAN discriminator judges (input, colour) pairs patch
# by patch. The defaults are the seed's recipe: gray in, RGB out, adversarial BCE +
# 100 x L1, Adam 1e-4 / 2e-4 with betas (0.5, 0.999). Parameters select other recipes:
# `OUTPUT = "ycbcr"` keeps the known luminance outside the lost region, `MASK_INPUT`
# adds the lost region as an input channel, `PREFILL` shows the generator the region
# already filled by OpenCV's Telea inpainting (it learns the correction; `REGION_LUMA =
# "base"` keeps the fill's luminance and learns colour only), `HUE_WEIGHT`
# adds a differentiable version of the score's hue-histogram part, `ADV_START_EPOCH`
# trains with L1 alone first, `TTA` validates with flip test-time augmentation, `EMA`
# validates and keeps a moving average of the generator's weights. The
# project's recipe, which beat the seed's on validation lever by lever, is in
# `notebooks/params/project_recipe.yaml` (`papermill -f` it, or copy its values here);
# the seed's is `seed_recipe.yaml`. Every parameter and its default is a field of
# `helpers.config.GanConfig`; the run folder's `config.json` records what a run used.
#
# Every epoch the whole pipeline is validated as inference runs it (lost region from the
# mask model of notebook 03) with the DACON score. Every `CHECKPOINT_EVERY` epochs a
# checkpoint (models, optimizers, RNG states, config, history, best score) goes to
# Drive-style storage; re-running the notebook resumes from the newest one. `best.pt`
# holds the best generator with its mask model: a complete pipeline for notebook 06.

# %%
# Environment: in Colab, mount Drive and install the repository; locally, nothing to do.
import importlib.util
import os
import subprocess
import sys

IN_COLAB = importlib.util.find_spec("google.colab") is not None
if IN_COLAB:
    from google.colab import drive

    drive.mount("/content/drive")
    repo = "/content/dacon-photo-restore"
    if not os.path.isdir(repo):
        url = os.environ.get("DACON_REPO_URL")  # this repository's git URL (your fork or clone)
        if not url:
            raise RuntimeError(f"set os.environ['DACON_REPO_URL'] to this repository's git URL, "
                               f"or upload the repository to {repo}")
        subprocess.run(["git", "clone", "--depth", "1", url, repo], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", repo], check=True)
    sys.path.insert(0, repo)

# %% tags=["parameters"]
DATA_DIR = ""  # empty: the embedded sample dataset; else an unzipped open.zip
CHECKPOINT_ROOT = ""  # empty: drive_checkpoints/ (Google Drive in Colab)
RUN = "gan"  # run folder name under the checkpoint root
MASK_RUN = "mask"  # the mask model's run (notebook 03)
INPAINTER_RUN = ""  # the learned inpainter's run (notebook 04) kept in the region with PREFILL; empty: Telea's fill
ENCODER_NAME = "resnet34"
ENCODER_WEIGHTS = "imagenet"  # "imagenet" (download), "efficientnet-lite0" (offline package) or None
WEIGHTS_FALLBACK = "random"  # if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
OUTPUT = "rgb"  # "rgb": the seed's recipe; "ycbcr": keep the known luminance
CHROMA = "regress"  # "regress": two chroma channels (L1); "bins": a class per chroma bin (needs "ycbcr")
CE_WEIGHT = 1.0  # weight of the rebalanced chroma-bin cross-entropy (CHROMA = "bins")
MASK_INPUT = False  # give the generator the lost region as a second channel
IMAGE_SIZE = 256  # the networks see images resized to this
BATCH_SIZE = 16
EPOCHS = 30
LR_G = 0.0001
LR_D = 0.0002
BETA1 = 0.5
BETA2 = 0.999
L1_WEIGHT = 100.0
ADV_WEIGHT = 1.0  # 0: no discriminator at all
ADV_START_EPOCH = 1  # L1 only before this epoch
PREFILL = False  # show the generator the lost region filled by Telea inpainting
REGION_LUMA = "generator"  # "generator": it corrects the region's luminance; "base": keep the (Telea) fill's
HUE_WEIGHT = 0.0  # weight of the soft hue-histogram loss (the score's colour part C)
TTA = False  # validate with flip test-time augmentation (inference then does the same)
EMA = 0.0  # keep an exponential moving average of the generator's weights (decay per step; 0: off)
CHECKPOINT_EVERY = 3  # epochs between checkpoints
VAL_LIMIT = 300  # validate on the first N validation images (0: all)
NUM_WORKERS = 2
SEED = 0

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from helpers import gan_training
from helpers.config import notebook_settings
from helpers.dacon_data import data_dir

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
run = gan_training.train(config, root, CHECKPOINT_ROOT or None)
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
