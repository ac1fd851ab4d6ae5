"""Build docs/reference/config.md at `mkdocs build` time from the pydantic models.

Run by mkdocs-gen-files: one table per settings class (field, type, default, description),
read from ``model_fields``, so the page shows the defaults the code has. The classes are
taken from the notebook API (``alignfreeze.<Name>``) and the aligner registry, the places
a user reaches them.
"""

from __future__ import annotations

import mkdocs_gen_files
from pydantic_core import PydanticUndefined

import alignfreeze
from alignfreeze.align.config import ALIGNER_CONFIGS

PAGE = "reference/config.md"
SECTIONS = [
    ("RunConfig", "one run, fully resolved; its hash is the run id"),
    ("ExperimentConfig", "an experiment file: methods, models and seeds that expand into runs"),
    ("RealignConfig", "`realignment:` and the options of `alignfreeze realign`"),
    ("TrainingSettings", "`training:`"),
    ("LoraAdapter", "`training.adapter:` (and `alignfreeze realign --adapter`)"),
    ("EvaluationSettings", "`evaluation:`"),
    ("TokenizationSettings", "`tokenization:`"),
    ("AnalysisSettings", "`analysis:` (extends AlignmentMeasureSettings)"),
    ("AlignmentMeasureSettings", "the options of `alignfreeze measure-alignment`"),
]


def cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def without_metadata(text: str) -> str:
    """``Annotated[X, FieldInfo(...)]`` -> ``X``: constraints and discriminators are printed as
    reprs that say nothing to a reader; the description says what the bounds are."""
    while "Annotated[" in text:
        start = text.index("Annotated[")
        depth, first_comma, end = 0, None, None
        for index in range(start + len("Annotated"), len(text)):
            char = text[index]
            if char in "[(":
                depth += 1
            elif char in "])":
                depth -= 1
                if depth == 0:
                    end = index
                    break
            elif char == "," and depth == 1 and first_comma is None:
                first_comma = index
        if end is None or first_comma is None:
            break
        text = text[:start] + text[start + len("Annotated[") : first_comma] + text[end + 1 :]
    return text


def type_name(annotation: object) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation).replace("typing.", "")
    text = without_metadata(text)
    for prefix in ("alignfreeze.", "pathlib."):
        while prefix in text:  # keep the class names, drop their module paths
            start = text.index(prefix)
            end = start
            while end < len(text) and (text[end].isalnum() or text[end] in "._"):
                end += 1
            text = text[:start] + text[start:end].rsplit(".", 1)[-1] + text[end:]
    return text


def default_of(field) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:  # a factory that needs the validated data
            return "(computed)"
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if hasattr(value, "model_dump"):
        return "(its own defaults)"
    return f"`{getattr(value, 'value', value)!r}`" if value is not None else "`None`"


def model_table(cls) -> list[str]:
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, field in cls.model_fields.items():
        description = field.description or ""
        lines.append(
            f"| `{name}` | `{cell(type_name(field.annotation))}` | {cell(default_of(field))} | {cell(description)} |"
        )
    return lines


def main() -> None:
    lines = [""]
    for name, where in SECTIONS:
        cls = getattr(alignfreeze, name)
        lines += [f"## `{name}`", "", f"{where}. Defined in `{cls.__module__}`.", ""]
        lines += model_table(cls) + [""]
    lines += ["## Aligner configs", "", "`aligner: {name: ...}`, one class per entry of `ALIGNER_CONFIGS`.", ""]
    for aligner, cls in ALIGNER_CONFIGS.items():
        lines += [f"### `{aligner}`: `{cls.__name__}`", "", f"Defined in `{cls.__module__}`.", ""]
        lines += model_table(cls) + [""]
    with mkdocs_gen_files.open(PAGE, "a") as page:
        page.write("\n".join(lines))


main()
