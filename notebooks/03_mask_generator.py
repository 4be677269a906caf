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
# # 03 · Mask generator
#
# At test time the lost region is not given: it has to be found from the damaged gray
# input alone. An smp U-Net learns it with BCE-with-logits against the score's own mask,
# `input != gray(truth)`. The region is one flat fill of a single gray value with sharp
# edges, so after thresholding, the predicted edge is snapped onto the pixels of that
# value nearby (`helpers.masking.snap_to_fill`); both IoUs are reported.
#
# Checkpoints go to Drive-style storage every `CHECKPOINT_EVERY` epochs; re-running
# this notebook resumes the run. `best.pt` (best validation IoU) is what 05 and 06 use.

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
RUN = "mask"  # run folder name under the checkpoint root
ENCODER_NAME = "timm-tf_efficientnet_lite0"
ENCODER_WEIGHTS = "efficientnet-lite0"  # "imagenet" (download), "efficientnet-lite0" (offline package) or None
WEIGHTS_FALLBACK = "random"  # if "imagenet" cannot be downloaded: "random", "efficientnet-lite0" or "error"
IMAGE_SIZE = 256  # the network sees images resized to this
BATCH_SIZE = 8
EPOCHS = 10
LR = 0.001  # AdamW, cosine decay over the epochs
WEIGHT_DECAY = 0.0001
THRESHOLD = 0.5  # P(lost) above which a pixel counts as lost
CHECKPOINT_EVERY = 3  # epochs between checkpoints
VAL_LIMIT = 0  # validate on the first N validation images (0: all)
NUM_WORKERS = 2
SEED = 0
N_EXAMPLES = 3  # best and worst validation examples to show

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import mask_training
from helpers.config import notebook_settings
from helpers.dacon_data import data_dir, load_pair, lost_region_mask, read_test_csv
from helpers.images import read_gray
from helpers.masking import mask_probability, snap_radius, snap_to_fill
from helpers.pipeline_file import load_mask
from helpers.splits import read_split
from helpers.viz import image_grid

_, _, config, _ = notebook_settings("03_mask_generator", globals())  # checked; a misspelt parameter is an error
root = data_dir(DATA_DIR or None)
print("dataset:", root)

# %% [markdown]
# ## Training (resumes from the newest checkpoint of the run)

# %%
run = mask_training.train(config, root, CHECKPOINT_ROOT or None)
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
model, spec = best.mask.network(), best.mask
val_rows = read_split(root, "val_split.csv", VAL_LIMIT)
per_image = mask_training.evaluate(model, val_rows, spec)

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
written = mask_training.write_masks(model, spec, test.input_image_path_abs, run.dir / "test_masks")

# %%
areas = [np.mean(read_gray(p) > 0) for p in written]
print(f"predicted lost area median {np.median(areas):.2%}, {sum(a == 0 for a in areas)} empty")

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(written)} test masks written to test_masks/ of the run folder: "
      f"{sorted(p.name for p in written) == sorted(test.input_image_path.map(lambda s: s.split('/')[-1]))}")
