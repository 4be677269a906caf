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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/06_inference_and_zip.ipynb) [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/dacon-photo-restore/dacon-photo-restore/blob/main/notebooks/06_inference_and_zip.ipynb)

# %% [markdown]
# # 06 · Inference and submission zip
#
# Loads the best pipeline of a GAN run (its generator and the mask model it was
# validated with), or with `RUN = "default"` the pretrained model shipped in
# `models/` (no training needed), restores every test input at its original size, writes RGB PNGs
# named like the inputs, packs them flat into `submission.zip` and validates the zip.
# When truth images exist (the sample dataset, or a validation folder), it prints the
# DACON score with its parts, a per-image table and the best and worst cases.
# The same function serves the command line:
# `python -m helpers.predict --input-dir DIR --output-dir DIR --run RUN_DIR`.

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
# @markdown RUN: the GAN run whose best.pt restores the images; "default": the shipped model
RUN = "gan"  # @param {type:"string"}
# @markdown OUT_DIR: empty: <run folder>/submission (default-submission in the work folder, runs/ locally, for the shipped model)
OUT_DIR = ""  # @param {type:"string"}
# @markdown ALLOW_INCOMPLETE: write the zip even if some test images failed
ALLOW_INCOMPLETE = False  # @param {type:"boolean"}
# @markdown LAUNCH_APP: serve the restore-your-photo web page at the end (a public link in Colab)
LAUNCH_APP = False  # @param {type:"boolean"}
# @markdown N_EXAMPLES: best and worst images to show
N_EXAMPLES = 3  # @param {type:"integer"}

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt

from helpers.core.config import notebook_settings
from helpers.core.files import atomic_write
from helpers.core.images import read_rgb
from helpers.core.runs import find_run, run_path
from helpers.core.runtime import work_dir
from helpers.data.dacon import data_dir, load_pair, read_test_csv
from helpers.data.viz import image_grid
from helpers.pipeline.folder import restore_folder
from helpers.pipeline.restore import Restorer
from helpers.pipeline.shipped import DEFAULT_MODEL
from helpers.scoring.folders import score_folders
from helpers.scoring.submission import expected_names, validate_zip, write_zip

notebook_settings("06_inference_and_zip", globals())  # a misspelt parameter is an error here
root = data_dir(DATA_DIR or None)
# Outputs go to persistent storage (Drive in Colab, /kaggle/working on Kaggle): the run's
# folder of this machine, even when the run itself was found in an attached earlier output.
if RUN == "default":
    model_path, default_out = DEFAULT_MODEL, work_dir() / "default-submission"
else:
    model_path = find_run(RUN, CHECKPOINT_ROOT or None)
    default_out = run_path(RUN, CHECKPOINT_ROOT or None) / "submission"
out_dir = Path(OUT_DIR) if OUT_DIR else default_out
restorer = Restorer.load(model_path, backend="auto")  # PyTorch on a GPU, else ONNX Runtime on the CPU
print(restorer.describe())

# %% [markdown]
# ## Restore the test inputs

# %%
test = read_test_csv(root)
pred_dir = out_dir / "png"
report = restore_folder(restorer, test.input_image_path_abs, pred_dir)

# %%
# NBVAL_CHECK_OUTPUT
print(f"restored {len(report.restored)} of {len(test)} test images")
for name, problem in report.failed.items():
    print(f"FAILED {name}: {problem}")

# %% [markdown]
# ## Pack and validate the zip
# The zip is refused if a prediction is missing or malformed, unless `ALLOW_INCOMPLETE`.

# %%
names = expected_names(test)
zip_path = write_zip(pred_dir, out_dir / "submission.zip", names, allow_incomplete=ALLOW_INCOMPLETE)
check = validate_zip(zip_path, names)
print(f"submission: {zip_path}")

# %%
print(f"submission.zip: {check['bytes'] / 1e6:.1f} MB")

# %%
# NBVAL_CHECK_OUTPUT
print(f"submission.zip: {check['files']} PNGs, flat, RGB 512x512")

# %% [markdown]
# ## Score (only where truth images exist)
# `helpers.scoring.folders` scores the written PNGs, as the competition would read them.

# %%
gt_dir = root / "test_gt"
if gt_dir.is_dir():
    per_image, total = score_folders(pred_dir, gt_dir, root / "test_input", progress=False)
    per_image = per_image.set_index("name")
    summary = json.dumps({**total, "submission": str(zip_path)}, indent=2, allow_nan=False)
    atomic_write(out_dir / "score.json", lambda tmp: Path(tmp).write_text(summary))
    print(f"DACON score on {total['n']} test images: {total['score']:.4f}  "
          f"(S {total['S']:.4f}  M {total['M']:.4f}  C {total['C']:.4f})")
    print(per_image.sort_values("score").round(4).to_string())
else:
    per_image = None
    print(f"no {gt_dir}: nothing to score against (the real DACON test set has no truth)")

# %%
# NBVAL_CHECK_OUTPUT
# What holds on any machine (the scores above depend on training's float paths).
if per_image is not None:
    print(f"scored {total['n']} of {len(names)} test images; score within [0, 1]: {0 <= total['score'] <= 1}; "
          f"score = 0.2 S + 0.4 M + 0.4 C: {abs(total['score'] - (0.2 * total['S'] + 0.4 * total['M'] + 0.4 * total['C'])) < 1e-9}")

# %%
if per_image is not None:
    order = per_image.sort_values("score")
    picked = list(order.index[::-1][:N_EXAMPLES]) + list(order.index[:N_EXAMPLES])
    grid = []
    for name in picked:
        gray, gt = load_pair(root / "test_input" / name, gt_dir / name)
        grid.append([gray, read_rgb(pred_dir / name), gt])
    fig = image_grid(grid, ["input", "restored", "truth"],
                     [f"{n}\nscore {per_image.score[n]:.3f}" for n in picked])
    fig.suptitle(f"best {N_EXAMPLES} (top) and worst {N_EXAMPLES} (bottom) test images", y=1.01)
    plt.show()

# %% [markdown]
# ## Restore your own photos in the browser
# With `LAUNCH_APP = True` this serves a page (helpers.app) where you upload photos and
# download their restorations; in Colab it prints a public link.

# %%
if LAUNCH_APP:
    from helpers.app import launch

    launch(restorer, share=IN_COLAB, block=False)

