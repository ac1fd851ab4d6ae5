"""Start-up: the command line's help, ``doctor`` and a cached ``prepare-model`` load no torch
(nor numpy), and piped help keeps every option name whole. ``bench/startup_bench.py``
times them against ``import torch``."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import alignfreeze

#: Imports that take most of a second or more, which no quick command needs.
HEAVY = ("torch", "transformers", "numpy")


def _env() -> dict[str, str]:
    """The test's environment without a terminal width, as a pipe in a fresh shell has."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}


def _loaded_by(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], subprocess.CompletedProcess]:
    """Run ``alignfreeze ARGS`` (stdout piped) and return the heavy modules it imported."""
    script = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr))\n"
        f"sys.argv = ['alignfreeze', *{list(args)!r}]\n"
        "from alignfreeze.cli.app import main\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env or _env())
    line = next(line for line in r.stderr.splitlines() if line.startswith("LOADED"))
    return line.split()[1:], r


def test_importing_the_cli_imports_no_torch():
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import alignfreeze.cli"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "alignfreeze.cli.app" in imported  # the check reads the import log it means to
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("args", [["--help"], ["realign", "--help"], ["sweep-freeze", "--help"]])
def test_help_imports_no_torch(args):
    loaded, r = _loaded_by(*args)
    assert r.returncode == 0, r.stderr
    assert loaded == []


def test_doctor_without_a_prepared_model_imports_no_torch(tmp_path):
    env = _env() | {"ALIGNFREEZE_HOME": str(tmp_path / "home")}
    loaded, r = _loaded_by("doctor", "--json", "--data-dir", str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr
    assert loaded == [] and "not ready" in r.stdout
    loaded, r = _loaded_by("doctor", "--json", "--devices", "--data-dir", str(tmp_path), env=env)
    assert r.returncode == 0 and "torch" in loaded and '"torch_threads"' in r.stdout


def test_cached_prepare_model_imports_no_torch(e5_small_path):
    loaded, r = _loaded_by("prepare-model")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(e5_small_path) and loaded == []


def test_piped_help_shows_every_option_name_whole():
    from alignfreeze.realign.config import RealignConfig

    r = subprocess.run(
        [sys.executable, "-m", "alignfreeze.cli", "realign", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    flags = ["--" + name.replace("_", "-") for name in RealignConfig.model_fields if name != "freeze_matching"]
    cut = [flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", r.stdout)]
    assert not cut, f"not shown whole: {cut}"
    assert "--projection-dim" in flags  # the option cut to "--projection-d…" at 80 columns


def test_option_defaults_are_the_called_functions_defaults():
    """Every ``signature_default`` in the command line reads the default that
    ``inspect.signature`` of the imported function gives."""
    from alignfreeze.cli.options import signature_default

    app = Path(alignfreeze.__file__).parent / "cli" / "app.py"
    tree = ast.parse(app.read_text())
    names = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "signature_default"
    ]
    assert len(calls) >= 20
    for call in calls:
        first, argument = call.args
        function = names[first.id] if isinstance(first, ast.Name) else first.value
        module, _, name = function.partition(":")
        expected = inspect.signature(getattr(importlib.import_module(module), name)).parameters[argument.value].default
        found = signature_default(function, argument.value)
        assert found == (list(expected) if isinstance(expected, tuple) else expected), (function, argument.value)


def test_signature_default_refuses_a_missing_argument():
    from alignfreeze.cli.options import signature_default

    with pytest.raises(TypeError, match="no argument 'sed'"):
        signature_default("alignfreeze.analysis.correlation:correlate", "sed")
    with pytest.raises(TypeError, match="no function"):
        signature_default("alignfreeze.analysis.correlation:correlation", "seed")


def _type_checking_names(module: str) -> dict[str, str]:
    """name -> module of the ``from M import name`` lines under ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                found |= {alias.name: statement.module for alias in statement.names}
    return found


@pytest.mark.parametrize(
    "package", ["alignfreeze.realign", "alignfreeze.finetune", "alignfreeze.analysis", "alignfreeze.experiments"]
)
def test_lazy_names_are_the_type_checkers_names(package):
    """What a package loads on first use is what its TYPE_CHECKING block shows a type
    checker, from the same module, and each name resolves."""
    module = importlib.import_module(package)
    static = _type_checking_names(package)
    assert static and set(static) <= set(module.__all__)
    for name, defined_in in static.items():
        assert name not in vars(module)  # loaded lazily, not at import
        assert getattr(module, name) is getattr(importlib.import_module(defined_in), name)


def test_facade_exports_are_the_type_checkers_names():
    static = _type_checking_names("alignfreeze")
    assert set(static) == set(alignfreeze._EXPORTS)
    packages = {name for name, module in alignfreeze._EXPORTS.items() if module == f"alignfreeze.{name}"}
    assert packages == {"realign", "finetune", "evaluate"}  # called as the function the block names
    assert {name: static[name] for name in set(static) - packages} == {
        name: module for name, module in alignfreeze._EXPORTS.items() if name not in packages
    }
    assert all(
        inspect.signature(getattr(alignfreeze, name))
        == inspect.signature(getattr(importlib.import_module(static[name]), name))
        for name in packages
    )
