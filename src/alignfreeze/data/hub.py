"""Hub fallback: Hugging Face parquet datasets -> our records.

Used only when no local file exists and the user is online. Not exercised in tests (the
hub is unreachable there); the conversion mirrors the local readers' output exactly.
"""

from __future__ import annotations

from typing import Any

from alignfreeze.data.records import NLI_LABELS, NliExample, QaAnswer, QaExample, TaggedSentence
from alignfreeze.errors import AlignfreezeError


def load_hub_records(task: str, hub) -> list[Any]:
    try:
        from datasets import load_dataset

        ds = load_dataset(hub.path, hub.name, split=hub.split, revision=hub.revision)
    except Exception as exc:  # offline, unknown config, ...: one clear line
        raise AlignfreezeError(f"could not load {hub.path}/{hub.name} [{hub.split}] from the hub: {exc}") from None
    if task in ("pos", "ner"):
        # XTREME's udpos has pos_tags; the UD treebanks' parquet conversion has upos.
        column = ("upos" if "upos" in ds.features else "pos_tags") if task == "pos" else "ner_tags"
        names = ds.features[column].feature.names
        return [TaggedSentence(list(r["tokens"]), [names[t] for t in r[column]]) for r in ds]
    if task == "nli":
        return [NliExample(r["premise"], r["hypothesis"], NLI_LABELS[r["label"]]) for r in ds if r["label"] >= 0]
    if task == "qa":
        return [
            QaExample(
                r["id"],
                r.get("title", ""),
                r["context"],
                r["question"],
                [QaAnswer(t, s) for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])],
            )
            for r in ds
        ]
    raise AlignfreezeError(f"no hub loader for {task!r}")
