"""``alignfreeze measure-alignment``: one model, several language pairs, a CSV and a plot.

The CSV has one row per language, hidden state, mode and direction::

    label,model,src_lang,language,layer,mode,direction,scoring,centred,n_pairs,accuracy

``scoring`` is ``cosine`` or ``cslsK``. ``alignment.json`` beside it records how each
sample was drawn (sentence pairs used, excluded for leakage, truncated words).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable, Sequence

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.analysis.retrieval import DIRECTIONS, MODES, RetrievalScores, measure_alignment
from alignfreeze.analysis.word_pairs import sample_word_pairs
from alignfreeze.data.fingerprints import SentenceSet
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_write_csv, atomic_write_text

CSV_COLUMNS = (
    "label",
    "model",
    "src_lang",
    "language",
    "layer",
    "mode",
    "direction",
    "scoring",
    "centred",
    "n_pairs",
    "accuracy",
)


def scoring_name(csls_k: int) -> str:
    return f"csls{csls_k}" if csls_k else "cosine"


def score_rows(scores: RetrievalScores, label: str, model: str, csls_k: int, center: bool) -> list[dict]:
    src_lang, _, language = scores.pair.partition("-")
    return [
        {
            "label": label,
            "model": model,
            "src_lang": src_lang,
            "language": language,
            "layer": layer,
            "mode": mode,
            "direction": direction,
            "scoring": scoring_name(csls_k),
            "centred": center,
            "n_pairs": scores.n_pairs,
            "accuracy": round(value, 6),
        }
        for (layer, mode, direction), value in sorted(scores.scores.items())
    ]


def read_rows_csv(path: str | Path) -> list[dict]:
    from alignfreeze.data.textfile import read_text

    rows = list(csv.DictReader(io.StringIO(read_text(path))))
    missing = set(CSV_COLUMNS) - set(rows[0] if rows else CSV_COLUMNS)
    if not rows or missing:
        raise AlignfreezeError(
            f"{path}: not an alignment CSV from `alignfreeze measure-alignment`"
            + (f" (missing columns: {', '.join(sorted(missing))})" if missing else " (no rows)")
        )
    return rows


def measure_corpora(
    model_name: str,
    corpora: Sequence[AlignedCorpus],
    out_dir: str | Path,
    n_pairs: int = 1000,
    layers: str = "all",
    modes: Sequence[str] = MODES,
    directions: Sequence[str] = DIRECTIONS,
    csls_k: int = 0,
    center: bool = False,
    seed: int = 0,
    exclude: SentenceSet | None = None,
    label: str | None = None,
    batch_size: int = 16,
    max_length: int = 256,
    on_progress: Callable[[str, int], Callable[[int], None]] | None = None,
    precision: str = "auto",
) -> tuple[list[dict], dict]:
    """Measure ``model_name`` on every corpus; write ``alignment.csv``, ``alignment.json``
    and ``alignment.png`` to ``out_dir``; return the rows and the metadata.

    Sentences recorded next to a realigned model (``realign-sentences.txt``) are excluded
    automatically, on top of ``exclude``."""
    from alignfreeze.analysis.plots import plot_layer_curves
    from alignfreeze.models import resolve_model
    from alignfreeze.models.loading import load_model, load_tokenizer
    from alignfreeze.precision import Precision

    for mode in modes:
        if mode not in MODES:
            raise AlignfreezeError(f"unknown mode {mode!r} (allowed: weak, strong)")
    path = resolve_model(model_name)
    recorded = SentenceSet.of_model(path)
    exclusion = SentenceSet(
        (exclude.fingerprints if exclude else set()) | (recorded.fingerprints if recorded else set())
    )
    samples = [sample_word_pairs(c, n_pairs, seed, exclusion) for c in corpora]  # fails fast, before loading the model
    tokenizer = load_tokenizer(path)
    model = load_model(path)
    amp = Precision(precision, next(model.parameters()).device)
    label = label or model_name
    rows, meta = (
        [],
        {
            "model": model_name,
            "label": label,
            "precision": amp.name,
            "n_pairs": n_pairs,
            "seed": seed,
            "csls_k": csls_k,
            "centred": center,
            "excluded_sentences_known": len(exclusion),
            "exclusion_recorded_with_model": recorded is not None,
            "pairs": {},
        },
    )
    for sample in samples:
        advance = on_progress(sample.pair, 2 * len(sample.src_sentences)) if on_progress else None
        with amp.autocast():
            scores = measure_alignment(
                model, tokenizer, sample, layers, modes, directions, csls_k, center, batch_size, max_length, advance
            )
        rows.extend(score_rows(scores, label, model_name, csls_k, center))
        meta["pairs"][sample.pair] = {**scores.stats, "seconds": round(scores.seconds, 2)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out_dir / "alignment.csv", rows, CSV_COLUMNS)
    atomic_write_text(out_dir / "alignment.json", json.dumps(meta, indent=2) + "\n")
    plot_layer_curves(
        rows,
        out_dir / "alignment.png",
        title=f"word retrieval: {label} ({scoring_name(csls_k)}" + (", centred" if center else "") + ")",
    )
    return rows, meta
