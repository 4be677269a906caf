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

# %%

# %% [markdown]
# # 04 · Inpainter
#
# The lost region's gray content, learned. OpenCV's Telea inpainting smears the edge
# inwards; the score's M rewards a fill whose structure is right (a smooth but correct
# fill scores far above plausible texture in the wrong place). An smp U-Net sees the
# image with the region Telea-filled and the region itself, at full resolution, and
# learns a correction to the fill with L1 + (1 - SSIM) inside the region: no
# adversarial loss. Its training pairs are drawn on the fly: regions like the
# competition's (`helpers.damage`) on the gray of the training truths, cropped
# `CROP_SIZE` pixels around the region, so every epoch sees new ones.
#
# Validation fills the validation images' true regions and reports the score's M on the
# luminance beside Telea's. `best.pt` (best M) is what notebook 05 puts in the pipeline
# (`INPAINTER_RUN`): inside the region, the final luminance is this fill.

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
RUN = "inpainter"  # run folder name under the checkpoint root
ENCODER_NAME = "timm-tf_efficientnet_lite0"
ENCODER_WEIGHTS = "efficientnet-lite0"  # "imagenet" (download), "efficientnet-lite0" (offline package) or None
WEIGHTS_FALLBACK = "random"  # if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
IMAGE_SIZE = 512  # the scale it works at: 512 = full resolution
CROP_SIZE = 256  # side of the training crops around each region (at full scale)
SAMPLES_PER_EPOCH = 2000  # damaged crops drawn per epoch
BATCH_SIZE = 8
EPOCHS = 20
LR = 0.001  # AdamW, cosine decay over the epochs
WEIGHT_DECAY = 0.0001
SSIM_WEIGHT = 1.0  # loss = L1 + SSIM_WEIGHT x (1 - SSIM), inside the region
EXTRA_PHOTOS = ""  # a folder of colour photos to draw crops from too (empty: the training split only)
CHECKPOINT_EVERY = 3  # epochs between checkpoints
VAL_LIMIT = 0  # validate on the first N validation images (0: all)
NUM_WORKERS = 2
SEED = 0
N_EXAMPLES = 3  # best and worst validation examples to show

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import inpainter_training
from helpers.config import notebook_settings
from helpers.dacon_data import data_dir, load_pair, lost_region_mask
from helpers.images import to_gray
from helpers.inpaint import learned_fill, telea
from helpers.pipeline_file import load_inpainter
from helpers.splits import read_split
from helpers.viz import image_grid

_, _, config, _ = notebook_settings("04_inpainter", globals())  # checked; a misspelt parameter is an error
root = data_dir(DATA_DIR or None)
print("dataset:", root)

# %% [markdown]
# ## Training (resumes from the newest checkpoint of the run)

# %%
run = inpainter_training.train(config, root, CHECKPOINT_ROOT or None)
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
model = best.inpainter.network()
val_rows = read_split(root, "val_split.csv", VAL_LIMIT)
rows = []
for inp, gt in zip(val_rows.input_image_path_abs, val_rows.gt_image_path_abs):
    gray, truth = load_pair(inp, gt)
    mask = lost_region_mask(gray, truth)
    rows.append({"name": inp.split("/")[-1], "area": float(mask.mean()),
                 "M_telea": inpainter_training.m_luminance(to_gray(truth), telea(gray, mask), mask),
                 "M": inpainter_training.m_luminance(to_gray(truth), learned_fill(model, gray, mask), mask)})
per_image = pd.DataFrame(rows).set_index("name")
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
