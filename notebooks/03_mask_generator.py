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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/03_mask_generator.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/03_mask_generator.ipynb)

# %% [markdown]
# # 03 · Mask generator
#
# At test time the lost region is not given: it has to be found from the damaged gray
# input alone. An smp U-Net learns it with BCE-with-logits against the score's own mask,
# `input != gray(truth)`. The region is one flat fill of a single gray value with sharp
# edges, so after thresholding, the predicted edge is snapped onto the pixels of that
# value nearby (`helpers.pipeline.masking.snap_to_fill`); both IoUs are reported.
#
# Checkpoints go to Drive-style storage every `CHECKPOINT_EVERY` epochs; re-running
# this notebook resumes the run. `best.pt` (best validation IoU) is what 05 and 06 use.

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
RUN = "mask"  # @param {type:"string"}
# @markdown ENCODER_NAME: smp encoder of the U-Net
ENCODER_NAME = "timm-tf_efficientnet_lite0"  # @param {type:"string"}
# @markdown ENCODER_WEIGHTS: "imagenet" (download), "efficientnet-lite0" (offline package) or None
ENCODER_WEIGHTS = "efficientnet-lite0"  # @param {type:"raw"}
# @markdown WEIGHTS_FALLBACK: if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
WEIGHTS_FALLBACK = "efficientnet-lite0"  # @param ["random", "efficientnet-lite0", "error"]
BATCH_SIZE = 16  # @param {type:"integer"}
EPOCHS = 10  # @param {type:"integer"}
# @markdown CHECKPOINT_EVERY: epochs between checkpoints
CHECKPOINT_EVERY = 3  # @param {type:"integer"}
# @markdown KEEP_CHECKPOINTS: newest epoch checkpoints kept (besides best.pt); 0: all
KEEP_CHECKPOINTS = 2  # @param {type:"integer"}
# @markdown VAL_LIMIT: validate on the first N validation images (0: all)
VAL_LIMIT = 500  # @param {type:"integer"}
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
# @markdown LR: AdamW learning rate (cosine decay over the epochs)
LR = 0.001  # @param {type:"number"}
WEIGHT_DECAY = 0.0001  # @param {type:"number"}
# @markdown THRESHOLD: P(lost) above which a pixel is lost
THRESHOLD = 0.5  # @param {type:"number"}
# @markdown CACHE: decode and resize the training images once into a disk cache, reused by every epoch and run (helpers.training.data_cache)
CACHE = True  # @param {type:"boolean"}
# @markdown N_EXAMPLES: best and worst images to show
N_EXAMPLES = 3  # @param {type:"integer"}

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.core.config import notebook_settings
from helpers.core.images import read_gray
from helpers.data.dacon import data_dir, load_pair, lost_region_mask, read_test_csv
from helpers.data.splits import read_split
from helpers.data.viz import image_grid
from helpers.networks.devices import device
from helpers.pipeline.masking import mask_probability, snap_radius, snap_to_fill
from helpers.pipeline.model_files import load_mask
from helpers.training.launch import train
from helpers.training.mask import evaluate, write_masks

_, _, config, _ = notebook_settings("03_mask_generator", globals())  # checked; a misspelt parameter is an error
root = data_dir(DATA_DIR or None)
print("dataset:", root)

# %% [markdown]
# ## Training (resumes from the newest checkpoint of the run)

# %%
run = train("mask", config, root, CHECKPOINT_ROOT or None)  # one process, or DDP with PROCESSES
history = pd.DataFrame(run.history)
print("run folder:", run.dir)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(history.epoch, history.loss, marker="o")
axes[0].set(xlabel="epoch", ylabel="BCE", title="training loss")
axes[1].plot(history.epoch, history.iou_coarse, marker="o", label="IoU, network")
axes[1].plot(history.epoch, history.iou, marker="o", label="IoU, snapped to the fill")
axes[1].set(xlabel="epoch", title="validation IoU")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Validation of the best model, image by image

# %%
best = load_mask(run.dir)
model, spec = best.mask.network().to(device()), best.mask  # on the GPU when there is one
val_rows = read_split(root, "val_split.csv", VAL_LIMIT)
per_image = evaluate(model, val_rows, spec)

# %%
summary = per_image[["iou_coarse", "dice_coarse", "iou", "dice"]].agg(["mean", "median", "min"])
print(f"best epoch {best.epoch}: validation IoU {per_image.iou.mean():.4f}, "
      f"Dice {per_image.dice.mean():.4f} over {len(per_image)} images")
print(summary.round(4))

# %%
# NBVAL_CHECK_OUTPUT
# What holds on any machine (nbval compares it; the numbers above come out of training,
# which takes other float paths on another CPU, so tests check them with tolerances).
metrics = per_image[["iou_coarse", "dice_coarse", "iou", "dice"]]
print(f"{len(per_image)} validation images scored; IoU and Dice within [0, 1]: "
      f"{bool(metrics.apply(lambda c: c.between(0, 1)).all().all())}; best epoch in 1..{EPOCHS}: "
      f"{1 <= best.epoch <= EPOCHS}")

# %%
order = per_image.sort_values("iou")
picked = pd.concat([order.tail(N_EXAMPLES)[::-1], order.head(N_EXAMPLES)])
rows, titles = [], []
for name, iou in zip(picked.name, picked.iou):
    r = val_rows[val_rows.input_image_path_abs.str.endswith("/" + name)].iloc[0]
    gray, gt = load_pair(r.input_image_path_abs, r.gt_image_path_abs)
    prob = mask_probability(model, gray, spec.scale)
    snapped = snap_to_fill(gray, prob > spec.threshold, radius=snap_radius(spec.scale))
    rows.append([gray, (prob * 255).astype(np.uint8), snapped.astype(np.uint8) * 255,
                 lost_region_mask(gray, gt).astype(np.uint8) * 255])
    titles.append(f"{name}\nIoU {iou:.3f}")
fig = image_grid(rows, ["input", "P(lost)", "predicted region", "true region"], titles)
fig.suptitle(f"best {N_EXAMPLES} (top) and worst {N_EXAMPLES} (bottom) validation images", y=1.01)
plt.show()

# %% [markdown]
# ## Predicted masks for the test inputs
# Written as 0/255 PNGs under the run folder, for inspection; notebook 06 predicts
# them again inside the pipeline.

# %%
test = read_test_csv(root)
written = write_masks(model, spec, test.input_image_path_abs, run.dir / "test_masks")

# %%
areas = [np.mean(read_gray(p) > 0) for p in written]
print(f"predicted lost area median {np.median(areas):.2%}, {sum(a == 0 for a in areas)} empty")

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(written)} test masks written to test_masks/ of the run folder: "
      f"{sorted(p.name for p in written) == sorted(test.input_image_path.map(lambda s: s.split('/')[-1]))}")
