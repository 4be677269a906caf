"""The package's layers (helpers/__init__.py): who may import whom, and no import circle."""
import ast
import re
from pathlib import Path

import helpers
from helpers import REPO_ROOT

LAYERS = ["core", "data", "scoring", "networks", "pipeline", "training"]  # each may import those before it
NO_TORCH = {"core", "data", "scoring"}
PACKAGE = REPO_ROOT / "helpers"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (the layers read better absolute)"
            found.add(node.module)
            # `from helpers.core import runtime` imports the module helpers.core.runtime
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if (PACKAGE.parent / f"{node.module}.{a.name}".replace(".", "/")).with_suffix(".py").is_file()}
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {m: {i for i in imports(p) if i in MODULES and i != "helpers"} for m, p in MODULES.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "commands"


def test_the_layers_are_the_ones_the_package_describes():
    described = re.findall(r"^    (\w+) {2,}", helpers.__doc__, flags=re.M)
    assert described == LAYERS
    assert sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()) == sorted(LAYERS)


def test_a_layer_imports_only_itself_and_the_layers_below():
    order = {name: i for i, name in enumerate(LAYERS)} | {"commands": len(LAYERS)}
    wrong = [f"{m} imports {i}" for m, deps in GRAPH.items() for i in deps
             if order[layer(i)] > order[layer(m)] or (layer(i) == "commands" and layer(m) != "commands")]
    assert not wrong, "\n".join(wrong)


def test_data_scoring_and_core_never_import_torch():
    heavy = {"torch", "torchvision", "segmentation_models_pytorch", "onnxruntime"}
    wrong = [f"{m} imports {i}" for m, p in MODULES.items() if layer(m) in NO_TORCH
             for i in imports(p) if i.split(".")[0] in heavy]
    assert not wrong, "\n".join(wrong)


def test_the_pipeline_never_imports_training():
    assert not [m for m, deps in GRAPH.items() if layer(m) == "pipeline" for i in deps if layer(i) == "training"]


def test_there_is_no_import_circle():
    done, path, circles = set(), [], []

    def visit(m):
        if m in path:
            circles.append(path[path.index(m):] + [m])
            return
        if m in done:
            return
        path.append(m)
        for d in sorted(GRAPH[m]):
            visit(d)
        path.pop()
        done.add(m)

    for m in sorted(GRAPH):
        visit(m)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_a_deliberately_upward_import_is_caught(tmp_path):
    """The checks above see an import inside a function too (the way circles used to hide)."""
    fake = tmp_path / "m.py"
    fake.write_text("def f():\n    from helpers.training.loop import fit\n")
    assert "helpers.training.loop" in imports(fake)
