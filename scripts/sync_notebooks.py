"""Keep the notebooks' generated cells in step with their one home.

    python scripts/sync_notebooks.py [--check]

Three cells of every numbered notebook are generated, the rest is written by hand:
    badges       "Open in Colab" and "Open in Kaggle" links, built from the repository
                 address in pyproject.toml ([project.urls] Repository)
    environment  the same set-up cell everywhere (ENVIRONMENT below): in Colab and on
                 Kaggle it mounts Drive (Colab), finds or clones this repository and puts it
                 on the path (no pip install -e: that needs an index for its build step, and
                 Kaggle's attached copy is read-only); helpers.core.runtime.setup then installs
                 what the platform lacks and finds or stages the data
    parameters   one line per setting of the notebook's configs (helpers.core.config.NOTEBOOK_CONFIGS):
                 the default as a plain literal with a Colab form annotation (# @param),
                 which papermill ignores, and the setting's help as a # @markdown line
The notebooks' kernel is the platform's default `python3`, so papermill and nbval run
them in Colab and on Kaggle as they are (`make` passes the project's own kernel).
--check: change nothing, exit 1 naming the notebooks that are out of date (a test runs it).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tomllib
from pathlib import Path

import jupytext
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers import REPO_ROOT
from helpers.core.config import NOTEBOOK_CONFIGS

NOTEBOOKS = REPO_ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
BADGE_MARK = "colab-badge.svg"

ENVIRONMENT = '''\
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
        url = os.environ.get("DACON_REPO_URL", "{clone_url}")
        if subprocess.run(["git", "clone", "-q", "--depth", "1", url, repo]).returncode != 0:
            raise RuntimeError(f"could not clone {url}: set DACON_REPO_URL to your copy's git address "
                               "(os.environ['DACON_REPO_URL'] = ...) and run this cell again; on Kaggle "
                               "without internet, attach a copy of the repository as a dataset instead")
    sys.path.insert(0, repo)
    os.environ["PYTHONPATH"] = os.pathsep.join([repo] + [p for p in [os.environ.get("PYTHONPATH")] if p])

from helpers.core.runtime import setup  # noqa: E402

setup()'''


def repository() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")


def badges(notebook: str) -> str:
    path = f"{repository().removeprefix('https://')}/blob/main/notebooks/{notebook}.ipynb"
    colab = f"https://colab.research.google.com/github/{path.removeprefix('github.com/')}"
    kaggle = f"https://kaggle.com/kernels/welcome?src=https://{path}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/{BADGE_MARK})]({colab}) "
            f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({kaggle})")


def _literal(value) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _form(f: dataclasses.Field) -> str:
    choices = f.metadata.get("choices")
    if choices and None not in choices:
        return "# @param [" + ", ".join(_literal(c) for c in choices) + "]"
    kind = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}.get(f.type, "raw")
    return f'# @param {{type:"{kind}"}}'


def parameters(notebook: str) -> str:
    lines = []
    for cls in NOTEBOOK_CONFIGS[notebook]:
        for f in dataclasses.fields(cls):
            if f.metadata.get("help"):
                lines.append(f"# @markdown {f.name.upper()}: {f.metadata['help']}")
            lines.append(f"{f.name.upper()} = {_literal(f.default)}  {_form(f)}")
    return "\n".join(lines)


def synced(path: Path):
    """The notebook (jupytext .py) with its generated cells as they should be."""
    nb = jupytext.read(path)
    name = path.stem
    cells = [c for c in nb.cells if not (c.cell_type == "markdown" and BADGE_MARK in c.source)]
    cells.insert(0, new_markdown_cell(badges(name)))
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    cells[code[0]] = new_code_cell(ENVIRONMENT.replace("{clone_url}", repository() + ".git"))
    params = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    cells[params[0]] = new_code_cell(parameters(name), metadata={"tags": ["parameters"]})
    nb.cells = cells
    nb.metadata["kernelspec"] = KERNELSPEC
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = ap.parse_args(argv)
    stale = []
    for py in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        nb = synced(py)
        text = jupytext.writes(nb, fmt="py:percent")
        if text != py.read_text():
            stale.append(py.name)
            if not args.check:
                py.write_text(text)
                jupytext.write(nb, py.with_suffix(".ipynb"))
    if stale:
        print(("out of date: " if args.check else "updated: ") + ", ".join(stale))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
