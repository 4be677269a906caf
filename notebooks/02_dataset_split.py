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
# # 02 · Dataset split
#
# A seeded train / validation split of `train.csv`, written next to it as
# `train_split.csv` and `val_split.csv` for notebooks 03, 04 and 05. On the sample dataset
# all crops of one source photo land on the same side (`meta.csv` names the sources),
# so validation measures photos the models have never seen; on DACON data it is a plain
# seeded split of the rows.

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
VAL_FRAC = 0.2  # share of training images kept for validation
SEED = 0

# %%
import pandas as pd

from helpers.config import notebook_settings
from helpers.dacon_data import data_dir
from helpers.splits import write_split

notebook_settings("02_dataset_split", globals())  # a misspelt parameter is an error here
root = data_dir(DATA_DIR or None)
train, val = write_split(root, val_frac=VAL_FRAC, seed=SEED)

# %%
# NBVAL_CHECK_OUTPUT
print(f"train: {len(train)} images   validation: {len(val)} images   ({len(val) / (len(train) + len(val)):.1%})")
print("written: train_split.csv and val_split.csv next to train.csv")

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
