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
import math
from pathlib import Path
from typing import Callable, Sequence

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.analysis.config import AlignmentMeasureSettings
from alignfreeze.analysis.retrieval import RetrievalScores, measure_alignment
from alignfreeze.analysis.word_pairs import sample_word_pairs
from alignfreeze.data.fingerprints import SentenceSet
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.fileio import atomic_write_csv, atomic_write_text, check_output_folder, claim_folder

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

#: What :func:`measure_corpora` writes into its folder (which carries alignfreeze's marker).
OUTPUT_FILES = ("alignment.csv", "alignment.json", "alignment.png")


def _measured_before(folder: Path) -> bool:
    """A folder ``measure-alignment`` wrote before folders carried alignfreeze's marker."""
    return {p.name for p in folder.iterdir()} <= set(OUTPUT_FILES) and (folder / "alignment.json").is_file()


def check_out_folder(out_dir: str | Path) -> None:
    """Raise :class:`AlignfreezeError` unless ``out_dir`` may receive :data:`OUTPUT_FILES`:
    new, empty, or a folder alignfreeze wrote (nothing of the user's is overwritten)."""
    check_output_folder(out_dir, "--out", _measured_before, OUTPUT_FILES)


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
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            accuracy = float(row["accuracy"])
        except (TypeError, ValueError):
            accuracy = math.nan
        if not math.isfinite(accuracy):
            raise DataFormatError(path, line, f"accuracy {row['accuracy']!r} is not a number (a finite one)")
        if not str(row["layer"]).isdigit():
            raise DataFormatError(path, line, f"layer {row['layer']!r} is not a hidden-state index (0, 1, ...)")
    return rows


def measure_corpora(
    model_name: str,
    corpora: Sequence[AlignedCorpus],
    out_dir: str | Path,
    *,
    settings: AlignmentMeasureSettings | None = None,
    exclude: SentenceSet | Sequence[AlignedCorpus] | None = None,
    label: str | None = None,
    on_progress: Callable[[str, int], Callable[[int], None]] | None = None,
    precision: str = "auto",
) -> tuple[list[dict], dict]:
    """Measure word-level alignment of one model on several language pairs (what
    ``alignfreeze measure-alignment`` does): sample ``settings.n_pairs`` word pairs from each
    corpus, measure retrieval at every requested layer, and write ``alignment.csv`` (one row
    per language, layer, mode and direction), ``alignment.json`` (how each sample was drawn)
    and ``alignment.png`` to ``out_dir``.

    Sentences recorded next to a realigned model (``realign-sentences.txt``) are left out of
    the samples automatically, on top of ``exclude``, so that a model is never measured on
    the words it was realigned on.

    Args:
        model_name: ``e5-small``, a hub id or a local folder.
        corpora: word-aligned sentence pairs (:class:`AlignedCorpus`), one per language pair.
        settings: :class:`AlignmentMeasureSettings`.
        exclude: sentences not to sample from (e.g. the corpora a model was realigned on).
        label: the model's name in the CSV and the figure (default: ``model_name``).
        on_progress: ``on_progress(pair, total)`` returns a callback advanced per sentence.
        precision: see :mod:`alignfreeze.precision`.

    Returns:
        ``(rows, metadata)``.

    Example::

        corpus = af.align_with("dictionary", sentence_pairs, "en", "fr")
        rows, meta = af.measure_corpora("e5-small", [corpus], "alignment/", settings=af.AlignmentMeasureSettings(n_pairs=500))
    """
    from alignfreeze.analysis.plots import plot_layer_curves
    from alignfreeze.models import resolve_model
    from alignfreeze.models.loading import load_model, load_tokenizer
    from alignfreeze.precision import Precision

    settings = settings or AlignmentMeasureSettings()
    n_pairs, seed, csls_k, center = settings.n_pairs, settings.sample_seed, settings.csls_k, settings.center
    if exclude is not None and not isinstance(exclude, SentenceSet):
        exclude = SentenceSet.of(exclude)
    path = resolve_model(model_name)
    recorded = SentenceSet.of_model(path)
    exclusion = SentenceSet(
        (exclude.fingerprints if exclude else set()) | (recorded.fingerprints if recorded else set())
    )
    samples = [sample_word_pairs(c, n_pairs, seed, exclusion) for c in corpora]  # fails fast, before loading the model
    check_out_folder(out_dir)  # a user's folder is refused now, before the model loads
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
            "settings": settings.model_dump(),
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
            scores = measure_alignment(model, tokenizer, sample, settings, advance)
        rows.extend(score_rows(scores, label, model_name, csls_k, center))
        meta["pairs"][sample.pair] = {**scores.stats, "seconds": round(scores.seconds, 2)}
    out_dir = claim_folder(out_dir, "alignment", OUTPUT_FILES)
    atomic_write_csv(out_dir / "alignment.csv", rows, CSV_COLUMNS)
    atomic_write_text(out_dir / "alignment.json", json.dumps(meta, indent=2) + "\n")
    plot_layer_curves(
        rows,
        out_dir / "alignment.png",
        title=f"word retrieval: {label} ({scoring_name(csls_k)}" + (", centred" if center else "") + ")",
    )
    return rows, meta


def plot_alignment_files(
    csv_files: Sequence[str | Path], out: str | Path, *, mode: str = "strong", direction: str = "fwd", title: str = ""
) -> Path:
    """Compare the alignment curves of several models (one ``alignment.csv`` each, from
    :func:`measure_corpora`): one panel per language, one line per file, named by its label.

    Example::

        af.plot_alignment_files(["align/pretrained/alignment.csv", "align/front/alignment.csv"], "curves.png")
    """
    from alignfreeze.analysis.plots import plot_curves_by_language

    per_file = [read_rows_csv(path) for path in csv_files]
    labels = [file_rows[0]["label"] for file_rows in per_file]
    if len(set(labels)) < len(labels):
        raise AlignfreezeError(
            f"two CSV files share a label ({', '.join(labels)}): give each measurement its own label"
        )
    return plot_curves_by_language([row for rows in per_file for row in rows], out, mode, direction, title)
