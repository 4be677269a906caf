"""Named parameter files: the recipes and budgets, each in one YAML file under notebooks/params/.

    seed_recipe.yaml        the seed's recipe for notebook 05
    project_recipe.yaml     the project's recipe: GanConfig's defaults with the offline encoder
    cpu/0N_<name>.yaml      what `make run` changes for a 2-core CPU (a budget, no recipe)
    tiny/0N_<name>.yaml     the tests' and nbval's tiny settings
They hold notebook parameters (UPPER_CASE names), so `papermill -f FILE` applies them to
a notebook as they are, and the scripts read the same files here; every key is checked
against helpers.core.config (a test reads every file). One file per concept: `make run`
passes the project recipe and the CPU budget as two `-f` files.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from helpers import REPO_ROOT
from helpers.core.config import GanConfig, InpainterConfig, MaskConfig, field_names, make

PARAMS_DIR = REPO_ROOT / "notebooks" / "params"
RECIPES = {"seed": "seed_recipe.yaml", "project": "project_recipe.yaml"}


class ParamsLoader(yaml.SafeLoader):
    """YAML's safe loader, reading 1e-3 as a number: YAML 1.1 wants a dot (1.0e-3) and reads
    1e-3 as a string, which a learning rate never is."""


ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
               r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", re.X),
    list("-+0123456789."))


def load_yaml(path) -> object:
    """A parameter or sweep file's contents (ParamsLoader); a ValueError naming the file when it
    is not YAML or uses a tag that would build an object."""
    try:
        return yaml.load(Path(path).read_text(), Loader=ParamsLoader)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()
        raise ValueError(f"{path}: not a plain YAML file ({' '.join(first[:2])})") from None


def read_params(name: str) -> dict:
    """A parameter file (path relative to notebooks/params/, .yaml optional) as {field name: value}."""
    path = PARAMS_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such parameter file")
    values = load_yaml(path) or {}
    return {k.lower(): v for k, v in values.items()}


def recipe(name: str) -> dict:
    """Every recipe setting (GanConfig fields marked recipe=True) of a named recipe ("seed" or
    "project"): its file's values, GanConfig's defaults for what the file leaves out."""
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r}; known: {sorted(RECIPES)}")
    values = read_params(RECIPES[name])
    extra = sorted(set(values) - set(field_names(GanConfig, "recipe")))
    if extra:
        raise ValueError(f"{RECIPES[name]}: {extra} are not recipe settings (helpers.core.config)")
    cfg = make(GanConfig, values, RECIPES[name])  # known names and valid values
    return {k: getattr(cfg, k) for k in field_names(GanConfig, "recipe")}


def cpu_budget(stage: str) -> dict:
    """What `make run` sets for a 2-core CPU in notebook `stage` ("03_mask_generator"...)."""
    values = read_params(f"cpu/{stage}")
    make({"03_mask_generator": MaskConfig, "04_inpainter": InpainterConfig, "05_gan_training": GanConfig}[stage],
         values, f"cpu/{stage}.yaml")
    return values
