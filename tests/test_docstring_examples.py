"""The ``Example::`` blocks of the library's docstrings (the API reference shows them).

Every example is checked statically: it parses, each ``af.<name>`` it uses is exported by
the facade, and each ``from alignfreeze... import name`` resolves. The examples that need
no data file, model or earlier result (configs, parsers, small pure functions) also run.
Most examples are fragments over a reader's own objects (``model``, ``sentence_pairs``):
those are only checked."""

from __future__ import annotations

import ast
import importlib
import re
import textwrap
from pathlib import Path

import pytest

import alignfreeze as af

SRC = Path(af.__file__).parent

#: Examples that run offline on nothing but themselves, by ``module path:object``.
RUNNABLE = {
    "align/config.py:build_aligner",
    "analysis/config.py:AlignmentMeasureSettings",
    "analysis/config.py:AnalysisSettings",
    "data/refs.py:DataRef",
    "data/refs.py:ParallelRef",
    "data/selection.py:<module>",
    "data/selection.py:LanguageSelection",
    "data/selection.py:uriel_distance",
    "data/sources.py:DatasetSource",
    "data/subwords.py:TokenizationSettings",
    "data/words.py:split_words",
    "errors.py:AlignfreezeError",
    "errors.py:DataFormatError",
    "experiments/config.py:MethodSpec",
    "finetune/config.py:TrainingSettings",
    "finetune/config.py:EvaluationSettings",
    "realign/freeze.py:FreezeSpec",
    "realign/freeze.py:FreezeSchedule",
    "realign/stream.py:shuffle_buffer_order",
    "realign/weighting.py:UCBWeights",
    "schema.py:TaskName",
    "schema.py:Method",
}


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            doc = ast.get_docstring(node, clean=True) or ""
            for block in re.finditer(r"Example::\n\n((?:(?: {4}.*)?\n?)+)", doc + "\n"):
                name = f"{path.relative_to(SRC).as_posix()}:{getattr(node, 'name', '<module>')}"
                found.append((name, textwrap.dedent(block.group(1))))
    return found


EXAMPLES = _examples()


def test_the_examples_are_found_and_the_runnable_list_is_current():
    names = {name for name, _ in EXAMPLES}
    assert len(EXAMPLES) > 60
    assert RUNNABLE <= names, sorted(RUNNABLE - names)


@pytest.mark.parametrize(("name", "code"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_an_example_parses_and_names_what_exists(name, code):
    tree = ast.parse(code)  # a SyntaxError fails the test with the example's line
    missing = sorted({n for n in re.findall(r"\baf\.([A-Za-z_]\w*)", code) if not hasattr(af, n)})
    assert not missing, f"{name}: af.{', af.'.join(missing)} not exported by alignfreeze"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("alignfreeze"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{name}: {node.module} has no {alias.name}"


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_a_self_contained_example_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = [code for example, code in EXAMPLES if example == name]
    exec(compile(code, f"<example {name}>", "exec"), {"af": af})
