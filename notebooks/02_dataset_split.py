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
# A seeded train / validation split of `train.csv`, written as `train_split.csv` and
# `val_split.csv` for notebooks 03, 04 and 05: next to it on this machine; on Colab and
# Kaggle in persistent storage (Drive, `/kaggle/working`), since the next notebook runs on
# a fresh runtime whose copy of the data has no split. On the sample dataset
# all crops of one source photo land on the same side (`meta.csv` names the sources),
# so validation measures photos the models have never seen; on DACON data it is a plain
# seeded split of the rows.

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
# @markdown VAL_FRAC: share of the training images (whole source photos) kept for validation
VAL_FRAC = 0.2  # @param {type:"number"}
SEED = 0  # @param {type:"integer"}

# %%
import pandas as pd

from helpers.core.config import notebook_settings
from helpers.data.dacon import data_dir
from helpers.data.splits import split_dir, write_split

notebook_settings("02_dataset_split", globals())  # a misspelt parameter is an error here
root = data_dir(DATA_DIR or None)
train, val = write_split(root, val_frac=VAL_FRAC, seed=SEED)

# %%
# NBVAL_CHECK_OUTPUT
print(f"train: {len(train)} images   validation: {len(val)} images   ({len(val) / (len(train) + len(val)):.1%})")
folder = split_dir(root)
print("written: train_split.csv and val_split.csv "
      + ("next to train.csv" if folder == root.resolve() else "in the work folder, kept for the next notebooks"))
print("in", folder)

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
