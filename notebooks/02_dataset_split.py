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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/02_dataset_split.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/02_dataset_split.ipynb)

# %% [markdown]
# # 02 · Dataset split
#
# A seeded train / validation split of `train.csv`, written next to it as
# `train_split.csv` and `val_split.csv` for notebooks 03, 04 and 05. On the sample dataset
# all crops of one source photo land on the same side (`meta.csv` names the sources),
# so validation measures photos the models have never seen; on DACON data it is a plain
# seeded split of the rows.

# %%
# Environment: Colab, Kaggle or this machine (the same cell opens every notebook).
# In Colab and on Kaggle: install this repository (a fork: set DACON_REPO_URL first)
# without touching the platform's torch, and mount Google Drive (Colab). Everywhere:
# find or stage the data once for the whole series (helpers.runtime.prepare).
import importlib.util
import os
import shutil
import subprocess
import sys

IN_COLAB = importlib.util.find_spec("google.colab") is not None
IN_KAGGLE = os.path.isdir("/kaggle/input")
if IN_COLAB or IN_KAGGLE:
    if IN_COLAB:
        from google.colab import drive

        drive.mount("/content/drive")
    repo = "/content/dacon-photo-restore" if IN_COLAB else "/kaggle/working/dacon-photo-restore"
    if not os.path.isdir(repo):
        uploaded = [p for p in ("/kaggle/input/dacon-photo-restore",) if os.path.isdir(p)]
        if uploaded:  # a copy attached as a Kaggle dataset: read-only, so copied
            shutil.copytree(uploaded[0], repo)
        else:
            url = os.environ.get("DACON_REPO_URL", "https://github.com/dacon-photo-restore/dacon-photo-restore.git")
            subprocess.run(["git", "clone", "--depth", "1", url, repo], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", repo], check=True)
    sys.path.insert(0, repo)

from helpers.runtime import prepare  # noqa: E402

prepare()

# %% tags=["parameters"]
# @markdown DATA_DIR: empty: $DATA_DIR, else the embedded sample dataset
DATA_DIR = ""  # @param {type:"string"}
# @markdown VAL_FRAC: share of the training images (whole source photos) kept for validation
VAL_FRAC = 0.2  # @param {type:"number"}
SEED = 0  # @param {type:"integer"}

# %%
import pandas as pd

from helpers.config import notebook_settings
from helpers.dacon_data import data_dir
from helpers.splits import split_dir, write_split

notebook_settings("02_dataset_split", globals())  # a misspelt parameter is an error here
root = data_dir(DATA_DIR or None)
train, val = write_split(root, val_frac=VAL_FRAC, seed=SEED)

# %%
# NBVAL_CHECK_OUTPUT
print(f"train: {len(train)} images   validation: {len(val)} images   ({len(val) / (len(train) + len(val)):.1%})")
folder = split_dir(root)
print("written: train_split.csv and val_split.csv "
      + ("next to train.csv" if folder == root.resolve() else "in the work folder (the dataset folder is read-only)"))

# %% [markdown]
# ## Source photos on each side (sample dataset only)

# %%
# NBVAL_CHECK_OUTPUT
meta_path = root / "meta.csv"
if meta_path.exists():
    meta = pd.read_csv(meta_path).set_index("input_image_path")
    tr_src = set(meta.source[train.input_image_path])
    va_src = set(meta.source[val.input_image_path])
    print(f"source photos: {len(tr_src)} in train, {len(va_src)} in validation, {len(tr_src & va_src)} in both")
    print("validation photos:", ", ".join(sorted(va_src)))
