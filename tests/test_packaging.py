"""The three dependency lists agree: pins (requirements*.txt), conda (environment.yml), ranges (pyproject)."""
import re
import tomllib

import yaml

from helpers import REPO_ROOT


def pins(*files) -> dict:
    out = {}
    for f in files:
        for line in (REPO_ROOT / f).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                name, version = line.split("==")
                out[name.lower()] = version
    return out


def test_environment_yml_pins_what_the_requirements_pin():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(p.lower().split("==") for p in pip if "==" in p)
    assert conda_pins == pins("requirements-torch.txt", "requirements.txt")


def test_pyproject_ranges_cover_every_pinned_runtime_package():
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ ]", d)[0].lower() for d in deps}
    assert set(pins("requirements-torch.txt", "requirements.txt")) - names == {"pytest"}
