"""One home for each setting: the typed configs, the notebooks' parameters and the YAML files agree."""
import ast
import dataclasses

import jupytext
import papermill
import pytest
import yaml

from helpers import REPO_ROOT
from helpers.core.config import (NOTEBOOK_CONFIGS, ConfigError, GanConfig, MaskConfig, field_names, from_notebook, make,
                                 resume_differences)
from helpers.core.recipes import PARAMS_DIR, RECIPES, cpu_budget, recipe
from helpers.pipeline.model_files import GeneratorSpec

NOTEBOOKS = REPO_ROOT / "notebooks"


def parameters_cell(notebook: str) -> dict:
    """NAME -> literal value of a notebook's parameters cell."""
    cell = next(c for c in jupytext.read(NOTEBOOKS / f"{notebook}.py").cells
                if "parameters" in c.metadata.get("tags", []))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def defaults(notebook: str) -> dict:
    return {f.name.upper(): f.default for cls in NOTEBOOK_CONFIGS[notebook] for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_CONFIGS))
def test_parameters_cell_is_the_config(notebook):
    """Same names, same defaults, both ways: the config is the single source of the defaults."""
    assert parameters_cell(notebook) == defaults(notebook)


def test_every_notebook_is_covered():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == sorted(NOTEBOOK_CONFIGS)


@pytest.mark.parametrize("path", sorted(p for p in PARAMS_DIR.rglob("*.yaml") if p.parent.name != "sweeps"),
                         ids=lambda p: str(p.relative_to(PARAMS_DIR)))
def test_every_parameter_file_is_valid_for_its_notebook(path):
    values = yaml.safe_load(path.read_text()) or {}
    if path.parent == PARAMS_DIR:  # a recipe: notebook 05's recipe settings only
        assert path.name in RECIPES.values()
        known = {k.upper() for k in field_names(GanConfig, "recipe")}
        assert set(values) <= known, set(values) - known
        make(GanConfig, {k.lower(): v for k, v in values.items()}, path.name)
        return
    notebook = path.stem
    assert notebook in NOTEBOOK_CONFIGS, f"{path}: no notebook {notebook}"
    unknown = set(values) - set(defaults(notebook))
    assert not unknown, f"{path}: unknown parameters {unknown}"
    from_notebook({**defaults(notebook), **values}, *NOTEBOOK_CONFIGS[notebook])  # valid values


ENCODER = {"encoder_name", "encoder_weights", "weights_fallback"}


def test_recipes_and_budgets_have_one_home():
    seed, project = recipe("seed"), recipe("project")
    defaults = {k: getattr(GanConfig(), k) for k in field_names(GanConfig, "recipe")}
    # the defaults are the best recipe for a GPU: the project's levers on the design card's encoder;
    # the project's file says only where its measured runs differ (the encoder, frozen), nothing twice
    departs = ENCODER | {"freeze_encoder"}
    assert {k: v for k, v in project.items() if k not in departs} == {k: v for k, v in defaults.items()
                                                                      if k not in departs}
    assert {k.lower() for k in yaml.safe_load((PARAMS_DIR / RECIPES["project"]).read_text())} == departs
    assert project["freeze_encoder"] and not defaults["freeze_encoder"]
    assert defaults["encoder_name"] == "resnet34" and defaults["weights_fallback"] == "efficientnet-lite0"
    assert project["encoder_weights"] == "efficientnet-lite0"  # offline, as it was measured
    assert seed["output"] == "rgb" and seed["encoder_name"] == "resnet34" and seed != defaults
    cpu = cpu_budget("05_gan_training")
    assert not set(cpu) & set(field_names(GanConfig, "recipe")), "the CPU file is a budget, the recipe is separate"
    assert cpu_budget("03_mask_generator")["image_size"] == 256


def test_a_misspelt_parameter_is_an_error_naming_it():
    with pytest.raises(ConfigError, match=r"unknown notebook parameter\(s\): EPOCH \(did you mean EPOCHS\?\)"):
        from_notebook({**defaults("05_gan_training"), "EPOCH": 5}, *NOTEBOOK_CONFIGS["05_gan_training"])
    with pytest.raises(ConfigError, match=r"lr_g = '1e-4': expected float"):  # YAML reads 1e-4 as a string
        make(GanConfig, {"lr_g": "1e-4"})
    with pytest.raises(ConfigError, match="unknown setting"):
        make(MaskConfig, {"output": "rgb"})


def test_a_misspelt_papermill_parameter_stops_the_notebook(small_dataset, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match=r"VAL_FRACT \(did you mean VAL_FRAC\?\)"):
        papermill.execute_notebook(str(NOTEBOOKS / "02_dataset_split.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"DATA_DIR": str(tmp_path / "nowhere"), "VAL_FRACT": 0.3},
                                   kernel_name="dacon-photo-restore", progress_bar=False, cwd=str(NOTEBOOKS))


def test_the_pipeline_file_keeps_what_inference_needs():
    spec_fields = {f.name for f in dataclasses.fields(GeneratorSpec)} - {"arch", "state_dict"}
    assert spec_fields == (set(field_names(GanConfig, "inference")) - {"image_size"}) | {"size"}


def test_resume_comparison_uses_the_field_metadata():
    cfg = GanConfig()
    saved = dataclasses.asdict(cfg)
    free = {name: "x" for name in field_names(GanConfig, "resume", "free")}
    assert resume_differences({**saved, **free}, cfg) == []
    assert resume_differences({**saved, "lr_g": 1.0}, cfg) == ["lr_g: 1.0 -> 0.0001"]
    assert "encoder_weights" in free and "weights_fallback" in free  # a resume loads the weights anyway
