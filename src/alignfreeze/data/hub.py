"""Hugging Face datasets, in their parquet form, read into our records.

Two users: :meth:`DataSource.load` when a run's data is not under the data root and the hub is
allowed, and ``alignfreeze fetch``, which writes the records into the data root in the
catalog's layout (:mod:`alignfreeze.data.fetch`).

Where a dataset is read from: the hub, or a local mirror laid out as the hub's repositories
are -- ``$ALIGNFREEZE_HUB_MIRROR/<owner>/<name>/`` holding the repository's own files (its
``README.md`` with the ``configs:`` block that maps a configuration to its parquet files, and
the parquet files under the same names). The tests run every loader here against such a
mirror; a cluster without internet can use one too. Both go through the same
``datasets.load_dataset`` call.

Columns: each source's entry in the registry names the ones read
(:attr:`alignfreeze.data.sources.HubDataset.columns`, carried by its
:class:`~alignfreeze.data.sources.HubSource`): ``tokens`` + ``pos_tags`` (``google/xtreme``
udpos) or ``upos`` (UD), ``tokens`` + ``ner_tags`` (WikiANN), ``premise``/``hypothesis``/``label``
(XNLI), SQuAD's ``id``/``context``/``question``/``answers`` (and ``title`` where there is one),
and OPUS-100's ``translation``.
Labels are read by name from the dataset's ``ClassLabel`` features, never by index: the
UD and XTREME label lists differ in length and order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alignfreeze.data.records import NLI_LABELS, NliExample, QaAnswer, QaExample, TaggedSentence
from alignfreeze.errors import AlignfreezeError

#: The environment variable naming a local mirror of the hub's dataset repositories.
HUB_MIRROR_ENV = "ALIGNFREEZE_HUB_MIRROR"

#: UD's tag for a multiword token's surface form (``du`` = ``de`` + ``le``): its parts carry
#: the UPOS tags. UD's parquet is read by :func:`alignfreeze.data.ud.sentences_from_ud_rows`,
#: which keeps such tokens beside the words, as the CoNLL-U reader does
#: (``tokenization.multiword_tokens`` decides); XTREME's udpos has none (its script keeps a
#: line only when FORM and UPOS are not ``_``), and a ``_`` token elsewhere is dropped.
MULTIWORD_TAG = "_"


def hub_mirror(mirror: str | Path | None = None) -> Path | None:
    """The hub mirror in use: ``mirror``, else ``$ALIGNFREEZE_HUB_MIRROR``, else None (the hub)."""
    chosen = mirror or os.environ.get(HUB_MIRROR_ENV)
    return Path(chosen).expanduser() if chosen else None


def load_hub_dataset(hub, mirror: str | Path | None = None):
    """The ``datasets.Dataset`` of one :class:`~alignfreeze.data.catalog.HubSource`, from the
    hub or from the mirror (where a revision is the folder's content: it is not passed)."""
    root = hub_mirror(mirror)
    location = str(root / hub.path) if root else hub.path
    kwargs: dict[str, Any] = {"split": hub.split}
    if hub.data_dir:
        kwargs["data_dir"] = hub.data_dir
    if hub.revision and root is None:
        kwargs["revision"] = hub.revision
    if root is not None and not Path(location).is_dir():
        raise AlignfreezeError(f"could not load {hub.describe()}: the mirror has no folder {location}")
    try:
        from datasets import load_dataset

        return load_dataset(location, hub.name, **kwargs)
    except Exception as exc:  # offline, unknown config, missing split...: one clear line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"the mirror {root}" if root else "the hub"
        raise AlignfreezeError(f"could not load {hub.describe()} from {where}: {reason}") from None


def _names(ds, column: str) -> list[str] | None:
    feature = ds.features[column]
    inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel) or List(ClassLabel)
    return list(inner.names) if hasattr(inner, "names") else None


def _tagged(ds, column: str) -> list[TaggedSentence]:
    names = _names(ds, column)
    sentences = []
    for row in ds:
        tags = [names[t] if names is not None else str(t) for t in row[column]]
        if names is None and any(t.isdigit() for t in tags):
            raise AlignfreezeError(f"column {column!r} holds label ids without their names (no ClassLabel feature)")
        kept = [(w, t) for w, t in zip(row["tokens"], tags) if t != MULTIWORD_TAG]
        if kept:
            sentences.append(TaggedSentence([w for w, _ in kept], [t for _, t in kept]))
    return sentences


#: The columns a task reads where its source names none.
TASK_COLUMNS = {
    "pos": ("tokens", "pos_tags"),
    "ner": ("tokens", "ner_tags"),
    "nli": ("premise", "hypothesis", "label"),
    "qa": ("id", "context", "question", "answers"),
}


def records_from_dataset(task: str, ds, wanted: tuple[str, ...] = ()) -> list[Any]:
    """A task's records (see :mod:`alignfreeze.data.records`) from a hub dataset, read from
    the columns ``wanted`` (its source's; default: the task's usual ones), or an
    AlignfreezeError naming the columns it lacks."""
    columns = set(ds.column_names)
    if task not in TASK_COLUMNS:
        raise AlignfreezeError(f"no hub loader for {task!r}")
    if not wanted:
        wanted = ("tokens", "upos") if task == "pos" and "upos" in columns else TASK_COLUMNS[task]

    missing = [c for c in wanted if c not in columns]
    if missing:
        raise AlignfreezeError(
            f"the dataset has no column {', '.join(map(repr, missing))} (it has: {', '.join(sorted(columns))})"
        )
    if task == "pos":
        column = "upos" if "upos" in wanted else "pos_tags"  # UD's parquet / XTREME's udpos
        if column == "upos":
            from alignfreeze.data.ud import sentences_from_ud_rows

            return sentences_from_ud_rows(ds, _names(ds, "upos"))
        return _tagged(ds, column)
    if task == "ner":
        return _tagged(ds, "ner_tags")
    if task == "nli":
        names = _names(ds, "label") or list(NLI_LABELS)
        return [NliExample(r["premise"], r["hypothesis"], names[r["label"]]) for r in ds if r["label"] >= 0]
    return [
        QaExample(
            r["id"],
            r.get("title", "") or "",
            r["context"],
            r["question"],
            [QaAnswer(t, s) for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])],
        )
        for r in ds
    ]


def load_hub_records(task: str, hub, mirror: str | Path | None = None) -> list[Any]:
    """Records of ``task`` from one hub dataset (see :func:`load_hub_dataset`)."""
    return records_from_dataset(task, load_hub_dataset(hub, mirror), hub.columns)


def load_hub_pairs(hub, src: str, tgt: str, mirror: str | Path | None = None) -> list[tuple[str, str]]:
    """``(src, tgt)`` sentence pairs of a translation dataset (OPUS-100's ``translation`` column)."""
    ds = load_hub_dataset(hub, mirror)
    if "translation" not in ds.column_names:
        raise AlignfreezeError(f"{hub.describe()} has no 'translation' column (it has: {', '.join(ds.column_names)})")
    pairs = []
    for row in ds["translation"]:
        if src not in row or tgt not in row:
            raise AlignfreezeError(f"{hub.describe()}: a translation has no {src!r} or {tgt!r} side ({sorted(row)})")
        pairs.append((row[src], row[tgt]))
    return pairs
