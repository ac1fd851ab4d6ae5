"""Imports point one way: data -> align -> realign -> finetune -> evaluate -> analysis ->
experiments -> cli, with shared pieces (errors, paths, files, caches, the results schema,
model loading, optimisers, precision, progress) below everything. Checked on the import
graph of the source, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import alignfreeze

PACKAGE = Path(alignfreeze.__file__).parent
LAYERS = ["data", "align", "realign", "finetune", "evaluate", "analysis", "experiments", "cli"]
SHARED = {
    "errors",
    "paths",
    "fileio",
    "progress",
    "cache",
    "schema",
    "metric_names",
    "optim",
    "precision",
    "models",
    "callable_package",
    "lazy",
}
TOP = {"cli", "doctor", "__init__", "__main__"}  # the command line and the public API sit on top


def layer(module: str) -> int:
    """-1 for shared pieces, else the index in LAYERS."""
    parts = module.split(".")[1:]  # without "alignfreeze"
    head = parts[0] if parts else "__init__"
    if head in SHARED:
        return -1
    if head in TOP:
        return LAYERS.index("cli")
    return LAYERS.index(head)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("alignfreeze"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("alignfreeze"))
    return found


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(relative.parts).removesuffix(".__init__")


def test_imports_point_one_way():
    backwards = []
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 40
    for path in modules:
        importer = module_name(path)
        for imported in imports_of(path):
            if imported == "alignfreeze" and layer(importer) < LAYERS.index("cli"):
                backwards.append(f"{importer} imports the package root")
            elif layer(imported) > layer(importer):
                backwards.append(f"{importer} -> {imported}")
    assert not backwards, "imports against the pipeline's direction:\n" + "\n".join(backwards)


def test_the_check_sees_a_backward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from alignfreeze.experiments.config import RunConfig\n")
    assert imports_of(bad) == {"alignfreeze.experiments.config"}
    assert layer("alignfreeze.experiments.config") > layer("alignfreeze.realign.trainer") > layer("alignfreeze.optim")


def test_every_public_function_and_class_has_an_example():
    """The notebook API (``import alignfreeze as af``): each callable's docstring shows a call."""
    import inspect

    import alignfreeze as af

    missing = [
        name
        for name in af._EXPORTS
        if callable(getattr(af, name)) and "Example" not in (inspect.getdoc(getattr(af, name)) or "")
    ]
    assert not missing, f"no 'Example' in the docstring of: {', '.join(missing)}"
