"""Freeze sweep: which layers does realignment hurt? (beyond both papers)

The same realignment is repeated with the bottom ``k`` transformer layers frozen, for
``k = 0, step, 2*step, ..., L``, each time from the same pretrained weights. After each,
word retrieval is measured at every hidden state on held-out sentences. The figure is a
heat map of the change in accuracy against the pretrained model (rows: ``k``; columns:
hidden state): a layer that realignment degrades shows red where it is trainable and
turns neutral once it is frozen.

Each finished ``k`` is appended to ``sweep.csv`` at once, so an interrupted sweep resumes
where it stopped (settings are checked against ``sweep.json``; different settings need a
different folder). With an experiment config, the same ``bottom:k`` freezes are also run
as ``before`` realignment + fine-tuning (:func:`alignfreeze.experiments.sweep.sweep_downstream`),
and their mean zero-shot score is shown beside the heat map.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.analysis.config import AlignmentMeasureSettings
from alignfreeze.analysis.retrieval import measure_alignment
from alignfreeze.analysis.word_pairs import sample_word_pairs
from alignfreeze.data.fingerprints import SentenceSet
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_write_csv, atomic_write_text
from alignfreeze.progress import progress_bar
from alignfreeze.realign.config import RealignConfig

COLUMNS = ("k", "freeze", "language", "layer", "mode", "direction", "accuracy")
PRETRAINED = -1  # the "k" of the rows measured before any realignment


def freeze_for(k: int, with_embeddings: bool) -> str:
    if k == 0:
        return "embeddings" if with_embeddings else "none"
    return f"bottom:{k}" + ("+embeddings" if with_embeddings else "")


def sweep_ks(n_layers: int, step: int) -> list[int]:
    if step < 1:
        raise AlignfreezeError(f"step must be at least 1 (got {step})")
    ks = list(range(0, n_layers + 1, step))
    return ks if ks[-1] == n_layers else ks + [n_layers]


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    text = text[: text.rfind("\n") + 1]  # a torn last line (crash mid-write) is dropped
    return list(csv.DictReader(io.StringIO(text)))


def sweep_freeze(
    model_name: str,
    realign_config: RealignConfig,
    realign_corpora: Sequence[AlignedCorpus],
    eval_corpora: Sequence[AlignedCorpus],
    out_dir: str | Path,
    *,
    step: int = 1,
    with_embeddings: bool = False,
    measure: AlignmentMeasureSettings | None = None,
    seed: int = 0,
    progress: bool = True,
    on_k: Callable[[int, float], None] | None = None,
    precision: str = "auto",
) -> list[dict]:
    """Realign ``model_name`` with the bottom ``k`` layers frozen, for every ``k``, and
    measure word retrieval at every hidden state after each (see the module docstring).
    Runs, or resumes, into ``out_dir``; returns every row of ``sweep.csv``.

    Args:
        realign_config: the realignment (:class:`RealignConfig`), the same for every ``k``.
        realign_corpora / eval_corpora: word-aligned sentence pairs to realign on and to
            measure on (sentences of the first are left out of the second's samples).
        step: ``k = 0, step, 2*step, ..., L``.
        with_embeddings: freeze the embeddings as well, at every ``k``.
        measure: how retrieval is measured (:class:`AlignmentMeasureSettings`); every hidden
            state is measured, whatever its ``layers``.
        seed: seed of the realignments.
        on_k: called with ``(k, seconds)`` after each realignment.

    Example::

        rows = af.sweep_freeze("e5-small", af.RealignConfig(steps=200), [train], [test], "sweep/", step=3)
        ks, layers, delta = sweep_matrix(rows, mode="strong", direction="fwd")
    """
    measure = (measure or AlignmentMeasureSettings()).model_copy(update={"layers": "all"})
    from alignfreeze.models.layers import model_default_word_vector, num_layers
    from alignfreeze.models.loading import load_model, load_tokenizer
    from alignfreeze.precision import Precision
    from alignfreeze.realign import realign
    from alignfreeze.schema import identity_values

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "model": model_name,
        "precision": precision,
        # The word vector as used (an encoder's "first", as sweeps recorded before it could be null).
        "realign": {
            **json.loads(realign_config.model_dump_json()),
            "word_vector": realign_config.word_vector or model_default_word_vector(model_name),
        },
        "step": step,
        "with_embeddings": with_embeddings,
        "measure": identity_values(measure, measure.model_dump()),  # new settings at their default left out
        "seed": seed,
        "realign_pairs": [f"{c.src_lang}-{c.tgt_lang}:{c.n_sentence_pairs}" for c in realign_corpora],
        "eval_pairs": [f"{c.src_lang}-{c.tgt_lang}:{c.n_sentence_pairs}" for c in eval_corpora],
    }
    meta_path = out_dir / "sweep.json"
    if meta_path.is_file() and json.loads(meta_path.read_text())["settings"] != settings:
        raise AlignfreezeError(f"{out_dir} holds a sweep with other settings; sweep into another folder")
    exclusion = SentenceSet.of(realign_corpora)
    samples = [sample_word_pairs(c, measure.n_pairs, measure.sample_seed, exclusion) for c in eval_corpora]
    tokenizer = load_tokenizer(model_name)
    model = load_model(model_name)
    amp = Precision(precision, next(model.parameters()).device)
    pretrained = {name: p.detach().clone() for name, p in model.state_dict().items()}
    ks = sweep_ks(num_layers(model), step)
    rows = _read(out_dir / "sweep.csv")
    done = {int(r["k"]) for r in rows}
    atomic_write_text(
        meta_path, json.dumps({"settings": settings, "ks": ks, "samples": [s.stats for s in samples]}, indent=2) + "\n"
    )

    def measure_after(k: int) -> list[dict]:
        out = []
        for sample in samples:
            with amp.autocast():
                scores = measure_alignment(model, tokenizer, sample, measure)
            out += [
                {
                    "k": k,
                    "freeze": "pretrained" if k == PRETRAINED else freeze_for(k, with_embeddings),
                    "language": sample.tgt_lang,
                    "layer": layer,
                    "mode": m,
                    "direction": d,
                    "accuracy": round(v, 6),
                }
                for (layer, m, d), v in sorted(scores.scores.items())
            ]
        return out

    todo = [k for k in [PRETRAINED, *ks] if k not in done]
    for k in progress_bar(todo, desc="freeze sweep", disable=not progress):
        if k != PRETRAINED:
            model.load_state_dict(pretrained)
            result = realign(
                model,
                tokenizer,
                realign_corpora,
                realign_config,
                freeze_for(k, with_embeddings),
                seed,
                progress=progress,
                precision=precision,
            )
            if on_k:
                on_k(k, result.seconds)
        rows += measure_after(k)
        atomic_write_csv(out_dir / "sweep.csv", rows, COLUMNS)
    return rows


def sweep_matrix(
    rows: Sequence[dict], *, mode: str = "strong", direction: str = "fwd"
) -> tuple[list[int], list[int], list[list[float]]]:
    """``(ks, layers, delta)`` of a freeze sweep's rows: the accuracy change (points, mean over
    languages) against the pretrained model, per frozen-layer count ``k`` and hidden state,
    for one retrieval mode and direction.

    Example::

        ks, layers, delta = af.sweep_matrix(af.sweep_freeze(...), mode="strong", direction="fwd")
    """
    acc: dict[tuple[int, int], list[float]] = defaultdict(list)
    for r in rows:
        if r["mode"] == mode and r["direction"] == direction:
            acc[(int(r["k"]), int(r["layer"]))].append(float(r["accuracy"]))
    mean = {key: sum(v) / len(v) for key, v in acc.items()}
    ks = sorted({k for k, _ in mean if k != PRETRAINED})
    layers = sorted({layer for _, layer in mean})
    if not mean:
        raise AlignfreezeError(f"the sweep has no {mode} {direction} measurement")
    if not any(k == PRETRAINED for k, _ in mean):
        raise AlignfreezeError("the sweep has no measurement of the pretrained model")
    delta = [[100 * (mean.get((k, layer), float("nan")) - mean[(PRETRAINED, layer)]) for layer in layers] for k in ks]
    return ks, layers, delta
