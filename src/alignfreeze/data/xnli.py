"""XNLI TSV: ``premise<TAB>hypothesis<TAB>label``.

Labels are the words ``entailment``/``neutral``/``contradiction`` (also ``0``/``1``/``2``
in that order, the Hugging Face encoding). A header line whose last column is ``label``
or ``gold_label`` is skipped.
"""

from __future__ import annotations

from pathlib import Path

from alignfreeze.data.records import NLI_LABELS, NliExample
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import DataFormatError

_LABEL_ALIASES = {**{name: name for name in NLI_LABELS}, **{str(i): name for i, name in enumerate(NLI_LABELS)}}


def read_xnli(path: str | Path) -> list[NliExample]:
    examples: list[NliExample] = []
    for line_no, line in numbered_lines(path):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            raise DataFormatError(
                path, line_no, f"expected 'premise<TAB>hypothesis<TAB>label', found {len(cols)} column(s)"
            )
        raw_label = cols[2].strip()
        if line_no == 1 and raw_label in ("label", "gold_label"):
            continue
        label = _LABEL_ALIASES.get(raw_label)
        if label is None:
            raise DataFormatError(path, line_no, f"unknown NLI label {raw_label!r} (allowed: {', '.join(NLI_LABELS)})")
        examples.append(NliExample(cols[0], cols[1], label))
    if not examples:
        raise DataFormatError(path, None, "no examples found")
    return examples
