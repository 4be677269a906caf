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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/04_inpainter.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/04_inpainter.ipynb)

# %% [markdown]
# # 04 · Inpainter
#
# The lost region's gray content, learned. OpenCV's Telea inpainting smears the edge
# inwards; the score's M rewards a fill whose structure is right (a smooth but correct
# fill scores far above plausible texture in the wrong place). An smp U-Net sees the
# image with the region Telea-filled and the region itself, at full resolution, and
# learns a correction to the fill with L1 + (1 - SSIM) inside the region: no
# adversarial loss. Its training pairs are drawn on the fly: regions like the
# competition's (`helpers.data.damage`) on the gray of the training truths, cropped
# `CROP_SIZE` pixels around the region, so every epoch sees new ones.
#
# Validation fills the validation images' true regions and reports the score's M on the
# luminance beside Telea's. `best.pt` (best M) is what notebook 05 puts in the pipeline
# (`INPAINTER_RUN`): inside the region, the final luminance is this fill.

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
RUN = "inpainter"  # @param {type:"string"}
# @markdown ENCODER_NAME: smp encoder of the U-Net
ENCODER_NAME = "timm-tf_efficientnet_lite0"  # @param {type:"string"}
# @markdown ENCODER_WEIGHTS: "imagenet" (download), "efficientnet-lite0" (offline package) or None
ENCODER_WEIGHTS = "efficientnet-lite0"  # @param {type:"raw"}
# @markdown WEIGHTS_FALLBACK: if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
WEIGHTS_FALLBACK = "efficientnet-lite0"  # @param ["random", "efficientnet-lite0", "error"]
BATCH_SIZE = 16  # @param {type:"integer"}
EPOCHS = 20  # @param {type:"integer"}
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
# @markdown CROP_SIZE: side of the training crops around each region (at full scale)
CROP_SIZE = 256  # @param {type:"integer"}
# @markdown SAMPLES_PER_EPOCH: damaged crops drawn per epoch
SAMPLES_PER_EPOCH = 8000  # @param {type:"integer"}
# @markdown CROP_REUSE: times each damaged crop is used on average, in its 8 rotations and mirrors: samples_per_epoch x epochs / this many crops are drawn once and cached (the loader then only reads); 1: a new crop, with its Telea fill, for every item
CROP_REUSE = 8  # @param {type:"integer"}
# @markdown LR: AdamW learning rate (cosine decay over DECAY_EPOCHS)
LR = 0.001  # @param {type:"number"}
# @markdown DECAY_EPOCHS: epochs over which the learning rate decays to 0 (0: EPOCHS); a run to be extended later (a scaling curve) sets its horizon here
DECAY_EPOCHS = 0  # @param {type:"integer"}
WEIGHT_DECAY = 0.0001  # @param {type:"number"}
# @markdown SSIM_WEIGHT: loss = L1 + this x (1 - SSIM), inside the region
SSIM_WEIGHT = 1.0  # @param {type:"number"}
# @markdown EXTRA_PHOTOS: a folder of colour photos to draw crops from too (empty: the training split only)
EXTRA_PHOTOS = ""  # @param {type:"string"}
# @markdown INIT_INPAINTER: an inpainter run or a pipeline file (a shipped model) whose inpainter starts this run in place of the ImageNet encoder and a zero head (fine-tuning, e.g. training v2's further); the same network. Empty: start fresh
INIT_INPAINTER = ""  # @param {type:"string"}
# @markdown CACHE: cache the crop pool (or with CROP_REUSE = 1 the training truths' gray) on disk once, reused by every epoch and run (helpers.training.data_cache)
CACHE = True  # @param {type:"boolean"}
# @markdown N_EXAMPLES: best and worst images to show
N_EXAMPLES = 3  # @param {type:"integer"}

# %%
import matplotlib.pyplot as plt
import pandas as pd

from helpers.core.config import notebook_settings
from helpers.core.images import to_gray
from helpers.data.dacon import data_dir, load_pair, lost_region_mask
from helpers.data.splits import read_split
from helpers.data.viz import image_grid
from helpers.networks.devices import device
from helpers.pipeline.inpaint import learned_fill, telea
from helpers.pipeline.model_files import load_inpainter
from helpers.training.inpainter import fill_scores
from helpers.training.launch import train

_, _, config, _ = notebook_settings("04_inpainter", globals())  # checked; a misspelt parameter is an error
root = data_dir(DATA_DIR or None)
print("dataset:", root)

# %% [markdown]
# ## Training (resumes from the newest checkpoint of the run)

# %%
run = train("inpainter", config, root, CHECKPOINT_ROOT or None)  # one process, or DDP with PROCESSES
history = pd.DataFrame(run.history)
print("run folder:", run.dir)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(history.epoch, history.loss_l1, marker="o", label="L1 in the region")
axes[0].plot(history.epoch, 1 - history.ssim, marker="o", label="1 - SSIM in the region")
axes[0].set(xlabel="epoch", title="training losses")
axes[0].legend()
axes[1].plot(history.epoch, history.M, marker="o", label="learned inpainter")
axes[1].plot(history.epoch, history.M_telea, linestyle="--", label="Telea")
axes[1].set(xlabel="epoch", title="validation: the score's M on the luminance")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Validation of the best model, image by image

# %%
best = load_inpainter(run.dir)
model = best.inpainter.network().to(device())  # on the GPU when there is one
val_rows = read_split(root, "val_split.csv", VAL_LIMIT)
per_image = fill_scores(val_rows, model).set_index("name")  # what validation measures, image by image
per_image["M_telea"] = fill_scores(val_rows).set_index("name").M_telea
print(f"best epoch {best.epoch}: M on the luminance {per_image.M.mean():.4f} "
      f"(Telea {per_image.M_telea.mean():.4f}) over {len(per_image)} validation images; "
      f"better than Telea on {(per_image.M > per_image.M_telea).mean():.0%} of them")

# %%
# NBVAL_CHECK_OUTPUT
# What holds on any machine (the numbers above come out of training).
print(f"{len(per_image)} validation images filled; M within [-1, 1]: "
      f"{bool(per_image[['M', 'M_telea']].apply(lambda c: c.between(-1, 1)).all().all())}; "
      f"best epoch in 1..{EPOCHS}: {1 <= best.epoch <= EPOCHS}")

# %%
gain = (per_image.M - per_image.M_telea).sort_values()
picked = list(gain.index[::-1][:N_EXAMPLES]) + list(gain.index[:N_EXAMPLES])
grid, titles = [], []
for name in picked:
    r = val_rows[val_rows.input_image_path_abs.str.endswith("/" + name)].iloc[0]
    gray, truth = load_pair(r.input_image_path_abs, r.gt_image_path_abs)
    mask = lost_region_mask(gray, truth)
    grid.append([gray, telea(gray, mask), learned_fill(model, gray, mask), to_gray(truth)])
    titles.append(f"{name}\nM {per_image.M[name]:.3f} (Telea {per_image.M_telea[name]:.3f})")
fig = image_grid(grid, ["input", "Telea", "learned", "truth (gray)"], titles)
fig.suptitle(f"largest {N_EXAMPLES} gains over Telea (top) and largest losses (bottom)", y=1.01)
plt.show()
