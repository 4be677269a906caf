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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/01_data_exploration.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/01_data_exploration.ipynb)

# %% [markdown]
# # 01 · Data exploration
#
# What the restoration task looks like: damaged grayscale inputs, colour truths, and the
# lost region that separates them. Runs on the embedded sample dataset by default, or on
# the real DACON data when `DATA_DIR` points at an unzipped `open.zip`.

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
# @markdown N_EXAMPLES: rows in the example grid
N_EXAMPLES = 4  # @param {type:"integer"}
# @markdown SEED: which images the grid shows
SEED = 0  # @param {type:"integer"}

# %%
import matplotlib.pyplot as plt
import numpy as np

from helpers.core.config import notebook_settings
from helpers.data.dacon import data_dir, read_test_csv, read_train_csv
from helpers.data.explore import dataset_stats
from helpers.data.viz import dataset_examples

notebook_settings("01_data_exploration", globals())  # a misspelt parameter is an error here
root = data_dir(DATA_DIR or None)  # the embedded sample is built here the first time it is asked for
print("dataset:", root)

# %% [markdown]
# ## Counts, sizes and modes
# Reading every CSV row checks that its file exists; loading checks mode and size
# (inputs L, truths RGB, all 512x512) and fails naming any bad file.

# %%
train, test = read_train_csv(root), read_test_csv(root)
stats, hue = dataset_stats(train)  # reads every pair once

# %%
# NBVAL_CHECK_OUTPUT
print(f"train pairs: {len(train)}   test inputs: {len(test)}")
print("all training pairs are 512x512, inputs mode L, truths mode RGB")

# %% [markdown]
# ## Examples: input, truth and the lost region (input != gray(truth))

# %%
rng = np.random.default_rng(SEED)
names = [train.input_image_path[i].rsplit("/", 1)[-1]
         for i in sorted(rng.choice(len(train), N_EXAMPLES, replace=False))]
fig = dataset_examples(root, names)
plt.show()

# %% [markdown]
# ## The lost region: how large, which fill value, how many pieces
# Measured from the derived mask. Pixels whose gray already equals the fill value are
# invisible to it, so now and then a thin region shows up as two or more pieces.

# %%
# NBVAL_CHECK_OUTPUT
print(f"lost area: {stats.area_frac.min():.2%} .. {stats.area_frac.max():.2%}, "
      f"median {stats.area_frac.median():.2%}")
print(f"regions per image: {stats.regions.value_counts().to_dict()}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].hist(stats.area_frac * 100, bins=22, color="tab:blue")
axes[0].set(xlabel="lost area (% of image)", ylabel="images", title="lost-region size")
axes[1].hist(stats.fill, bins=range(0, 258, 8), color="tab:gray")
axes[1].set(xlabel="fill value (gray level)", title="lost-region fill value")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Colour of the truth images
# The score gives 40 % to the hue histogram: a gray answer earns almost nothing there.

# %%
# NBVAL_CHECK_OUTPUT
print(stats[["R", "G", "B", "saturation", "value"]].describe().loc[["mean", "std", "min", "max"]].round(1))
fig, ax = plt.subplots(figsize=(10, 2.8))
bins = np.arange(180)
ax.bar(bins, hue / hue.sum(), color=plt.cm.hsv(bins / 180), width=1.0)
ax.set(xlabel="OpenCV hue (0-179)", ylabel="share of pixels", title="hue histogram of all truth images")
plt.show()
