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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/07_sweep.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/07_sweep.ipynb)

# %% [markdown]
# # 07 · Sweep and leaderboard
#
# Runs a notebook (usually 05, the GAN) once per point of a grid with papermill, each
# into its own run folder and executed-notebook copy, then ranks the runs. The sweep is a
# YAML file (`helpers.sweep` says what it holds; `notebooks/params/sweeps/example.yaml`
# compares regressed and classified chroma at two learning rates). Re-running this
# notebook after a disconnect skips the finished points and resumes the unfinished one;
# a failing point is reported with its error and the others still run.

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
# @markdown SWEEP_FILE: the sweep (YAML), relative to the repository or absolute
SWEEP_FILE = "notebooks/params/sweeps/example.yaml"  # @param {type:"string"}
# @markdown EXTRA_FILES: parameter files applied after the sweep's base_files, comma-separated (relative to notebooks/params/)
EXTRA_FILES = ""  # @param {type:"string"}
# @markdown KERNEL: Jupyter kernel of the points (empty: the notebook's, python3)
KERNEL = ""  # @param {type:"string"}

# %%
import matplotlib.pyplot as plt

from helpers import sweep as sweeps
from helpers.core.config import notebook_settings

notebook_settings("07_sweep", globals())  # a misspelt parameter is an error here
sweep = sweeps.load(SWEEP_FILE, [f.strip() for f in EXTRA_FILES.split(",") if f.strip()])
print(f"sweep {sweep.name}: {len(sweeps.points(sweep))} points of notebook {sweep.notebook}; "
      f"executed notebooks in {sweep.folder()}")

# %% [markdown]
# ## Run the points (finished ones are skipped)

# %%
status = sweeps.run(sweep, DATA_DIR or None, CHECKPOINT_ROOT or None, KERNEL or None)

# %%
# NBVAL_CHECK_OUTPUT
print({name: s["status"] for name, s in sorted(status.items())})

# %% [markdown]
# ## Leaderboard: each run's best validation epoch, best first

# %%
board = sweeps.leaderboard(sweep, CHECKPOINT_ROOT or None, DATA_DIR or None)
print(board.round(4).to_string(index=False))

# %%
sweeps.plot_scores(sweep, CHECKPOINT_ROOT or None, DATA_DIR or None, sweep.folder() / "scores.png")
plt.show()
