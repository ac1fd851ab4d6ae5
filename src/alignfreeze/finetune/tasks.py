"""The four tasks -- ``pos``, ``ner``, ``nli``, ``qa`` -- each with its preprocessing, its
head and its metrics.

* ``pos`` / ``ner`` (token classification): a word's label goes on its first subword
  (:func:`alignfreeze.data.encode_words`); other subwords get -100. Predictions are read at
  first subwords. Words cut off by the evaluation length are scored as wrong (``O`` for
  NER) and counted, so every method is scored on the same words.
* ``nli``: premise/hypothesis pair classification into ``entailment``, ``neutral``,
  ``contradiction``.
* ``qa``: extractive QA. Question + context windows of ``max_length`` with a stride
  (``doc_stride`` tokens of overlap); answers are mapped to token positions through the
  offset mapping (a window without the answer points at ``<s>``/``[CLS]``). At evaluation the
  best span over all windows (start + end logit, at most ``max_answer_tokens``) is mapped
  back to context characters.

Scoring compares label *strings*: an evaluation label never seen in training cannot be
predicted, is counted (``unseen_label_words``, ``unseen_labels``) and reported, and never
crashes the run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from alignfreeze.data.records import NLI_LABELS, NliExample, QaExample, TaggedSentence
from alignfreeze.data.subwords import encode_words
from alignfreeze.data.ud import UPOS_TAGS
from alignfreeze.errors import AlignfreezeError
from alignfreeze.evaluate.metrics import accuracy, ner_scores, qa_scores

IGNORE = -100


@dataclass
class Scores:
    """Metrics of one language (fractions) plus diagnostics for metrics.json."""

    metrics: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _pad(sequences: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(s) for s in sequences)
    out = torch.full((len(sequences), width), value, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class Task(ABC):
    name: str
    primary_metric: str
    metrics: tuple[str, ...]

    def label_list(self, train: Sequence[Any]) -> list[str]:
        return []

    @abstractmethod
    def load_model(self, path: str, labels: list[str]):
        """The task model (encoder + fresh head) from a checkpoint path."""

    @abstractmethod
    def encode(self, records: Sequence[Any], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        """Training features: dicts of int lists, each with ``input_ids``."""

    def collate(self, features: Sequence[dict], pad_id: int) -> dict[str, torch.Tensor]:
        ids = [f["input_ids"] for f in features]
        batch = {"input_ids": _pad(ids, pad_id), "attention_mask": _pad([[1] * len(x) for x in ids], 0)}
        if "labels" in features[0]:
            labels = [f["labels"] for f in features]
            batch["labels"] = _pad(labels, IGNORE) if isinstance(labels[0], list) else torch.tensor(labels)
        for key in ("start_positions", "end_positions"):
            if key in features[0]:
                batch[key] = torch.tensor([f[key] for f in features])
        return batch

    @abstractmethod
    def evaluate(self, model, tokenizer, records: Sequence[Any], language: str, max_length: int, batch_size: int,
                 labels: list[str]) -> Scores:  # fmt: skip
        """Score ``records`` of one language."""


def _device(model) -> torch.device:
    return next(model.parameters()).device


class TaggingTask(Task):
    def label_list(self, train: Sequence[TaggedSentence]) -> list[str]:
        return sorted({t for s in train for t in s.tags})

    def load_model(self, path: str, labels: list[str]):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification.from_pretrained(
            path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
        )

    def encode(self, records: Sequence[TaggedSentence], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        index = {label: i for i, label in enumerate(labels)}
        features = []
        for start in range(0, len(records), 1000):
            chunk = records[start : start + 1000]
            enc, maps = encode_words(tokenizer, [r.words for r in chunk], max_length=max_length)
            for k, (record, mp) in enumerate(zip(chunk, maps)):
                ids = enc["input_ids"][k]
                tags = [IGNORE] * len(ids)
                for w, pos in enumerate(mp.first_subword):
                    if pos >= 0:
                        tags[pos] = index.get(record.tags[w], IGNORE)
                features.append({"input_ids": ids, "labels": tags})
        return features

    def predict(self, model, tokenizer, records: Sequence[TaggedSentence], max_length: int, batch_size: int,
                labels: list[str], fallback: str) -> tuple[list[list[str]], int]:  # fmt: skip
        """Predicted tag per word, and how many words were cut off by ``max_length``."""
        model.eval()
        order = sorted(range(len(records)), key=lambda i: len(records[i].words))
        predictions: list[list[str]] = [[] for _ in records]
        truncated = 0
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc, maps = encode_words(tokenizer, [records[i].words for i in idx], max_length=max_length,
                                         padding=True, return_tensors="pt")  # fmt: skip
                enc = {k: v.to(_device(model)) for k, v in enc.items()}
                best = model(**enc).logits.argmax(-1).cpu()
                for row, (i, mp) in enumerate(zip(idx, maps)):
                    tags = []
                    for pos in mp.first_subword:
                        if pos < 0:
                            truncated += 1
                            tags.append(fallback)
                        else:
                            tags.append(labels[int(best[row, pos])])
                    predictions[i] = tags
        return predictions, truncated

    def _unseen(self, records: Sequence[TaggedSentence], labels: list[str]) -> dict[str, Any]:
        known = set(labels)
        unseen = Counter(t for r in records for t in r.tags if t not in known)
        return {"unseen_label_words": sum(unseen.values()), "unseen_labels": dict(sorted(unseen.items()))}


class PosTask(TaggingTask):
    name = "pos"
    primary_metric = "accuracy"
    metrics = ("accuracy",)

    def label_list(self, train: Sequence[TaggedSentence]) -> list[str]:
        # The full UPOS set, so a tag absent from a small training set is still a class.
        return sorted(set(UPOS_TAGS) | {t for s in train for t in s.tags})

    def evaluate(self, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
        predicted, truncated = self.predict(model, tokenizer, records, max_length, batch_size, labels, fallback="")
        gold = [t for r in records for t in r.tags]
        flat = [t for p in predicted for t in p]
        return Scores({"accuracy": accuracy(gold, flat)},
                      {"words": len(gold), "truncated_words": truncated, **self._unseen(records, labels)})  # fmt: skip


class NerTask(TaggingTask):
    name = "ner"
    primary_metric = "f1"
    metrics = ("f1", "precision", "recall", "accuracy")

    def evaluate(self, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
        predicted, truncated = self.predict(model, tokenizer, records, max_length, batch_size, labels, fallback="O")
        scores = ner_scores([r.tags for r in records], predicted)
        words = sum(len(r.words) for r in records)
        return Scores(scores, {"words": words, "truncated_words": truncated, **self._unseen(records, labels)})


class NliTask(Task):
    name = "nli"
    primary_metric = "accuracy"
    metrics = ("accuracy",)

    def label_list(self, train) -> list[str]:
        return list(NLI_LABELS)

    def load_model(self, path: str, labels: list[str]):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
        )

    def _encode(self, records: Sequence[NliExample], tokenizer, max_length: int, **kwargs):
        return tokenizer([r.premise for r in records], [r.hypothesis for r in records], truncation=True,
                         max_length=max_length, **kwargs)  # fmt: skip

    def encode(self, records: Sequence[NliExample], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        index = {label: i for i, label in enumerate(labels)}
        enc = self._encode(records, tokenizer, max_length)
        return [{"input_ids": ids, "labels": index[r.label]} for ids, r in zip(enc["input_ids"], records)]

    def evaluate(self, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
        model.eval()
        order = sorted(range(len(records)), key=lambda i: len(records[i].premise) + len(records[i].hypothesis))
        predicted: list[str] = [""] * len(records)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self._encode([records[i] for i in idx], tokenizer, max_length, padding=True, return_tensors="pt")
                enc = {k: v.to(_device(model)) for k, v in enc.items()}
                for i, best in zip(idx, model(**enc).logits.argmax(-1).tolist()):
                    predicted[i] = labels[best]
        gold = [r.label for r in records]
        return Scores({"accuracy": accuracy(gold, predicted)}, {"examples": len(records)})


class QaTask(Task):
    name = "qa"
    primary_metric = "f1"
    metrics = ("f1", "exact_match")

    def __init__(self, doc_stride: int = 32, max_answer_tokens: int = 30):
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens

    def load_model(self, path: str, labels: list[str]):
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering.from_pretrained(path)

    def _windows(self, records: Sequence[QaExample], tokenizer, max_length: int, **kwargs):
        stride = min(self.doc_stride, max_length // 2)
        return tokenizer(
            [r.question.lstrip() for r in records], [r.context for r in records], truncation="only_second",
            max_length=max_length, stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True, **kwargs,
        )  # fmt: skip

    def encode(self, records: Sequence[QaExample], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        records = [r for r in records if r.answers]
        features = []
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            enc = self._windows(chunk, tokenizer, max_length)
            for w, ids in enumerate(enc["input_ids"]):
                record = chunk[enc["overflow_to_sample_mapping"][w]]
                answer = record.answers[0]
                a_start, a_end = answer.start, answer.start + len(answer.text)
                offsets, seq = enc["offset_mapping"][w], enc.sequence_ids(w)
                context = [i for i, s in enumerate(seq) if s == 1]
                s_tok = e_tok = 0  # the <s>/[CLS] position: "no answer in this window"
                if context and offsets[context[0]][0] <= a_start and offsets[context[-1]][1] >= a_end:
                    s_tok = next(i for i in context if offsets[i][1] > a_start)
                    e_tok = next(i for i in reversed(context) if offsets[i][0] < a_end)
                features.append({"input_ids": ids, "start_positions": s_tok, "end_positions": e_tok})
        return features

    def evaluate(self, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
        model.eval()
        best: list[tuple[float, str]] = [(float("-inf"), "") for _ in records]
        with torch.inference_mode():
            for start in range(0, len(records), batch_size):
                chunk = list(range(start, min(start + batch_size, len(records))))
                enc = self._windows([records[i] for i in chunk], tokenizer, max_length)
                n = len(enc["input_ids"])
                for w0 in range(0, n, batch_size):
                    rows = list(range(w0, min(w0 + batch_size, n)))
                    ids = _pad([enc["input_ids"][w] for w in rows], tokenizer.pad_token_id or 0)
                    mask = _pad([[1] * len(enc["input_ids"][w]) for w in rows], 0)
                    out = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model)))
                    starts, ends = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                    for r, w in enumerate(rows):
                        i = chunk[enc["overflow_to_sample_mapping"][w]]
                        score, text = self._best_span(starts[r], ends[r], enc["offset_mapping"][w], enc.sequence_ids(w),
                                                      records[i].context)  # fmt: skip
                        if score > best[i][0]:
                            best[i] = (score, text)
        predictions = [text for _, text in best]
        golds = [[a.text for a in r.answers] or [""] for r in records]
        return Scores(qa_scores(predictions, golds, language), {"questions": len(records)})

    def _best_span(self, start_logits, end_logits, offsets, sequence_ids, context: str, top: int = 20):
        length = len(sequence_ids)
        start_logits, end_logits = start_logits[:length], end_logits[:length]
        best_score, best_text = float("-inf"), ""
        for s in start_logits.topk(min(top, length)).indices.tolist():
            if sequence_ids[s] != 1:
                continue
            for e in end_logits.topk(min(top, length)).indices.tolist():
                if sequence_ids[e] != 1 or e < s or e - s + 1 > self.max_answer_tokens:
                    continue
                score = float(start_logits[s] + end_logits[e])
                if score > best_score:
                    best_score, best_text = score, context[offsets[s][0] : offsets[e][1]]
        return best_score, best_text


TASKS: dict[str, type[Task]] = {"pos": PosTask, "ner": NerTask, "nli": NliTask, "qa": QaTask}


def get_task(name: str, **options) -> Task:
    if name not in TASKS:
        raise AlignfreezeError(f"unknown task {name!r} (allowed: {', '.join(TASKS)})")
    return TASKS[name](**options) if name == "qa" else TASKS[name]()
