"""The four tasks -- ``pos``, ``ner``, ``nli``, ``qa`` -- each with its preprocessing, its
head and its metrics.

* ``pos`` / ``ner`` (token classification): a word's label goes on its first subword
  (:func:`alignfreeze.data.encode_word_windows`, lone ``▁`` pieces skipped or removed per
  the run's tokenization settings); other subwords get -100. Predictions are read at first
  subwords. With ``long_sentences: truncate``, words cut off by the length limit are not
  trained on, and are scored as wrong (``O`` for NER) and counted, so every method is
  scored on the same words. With ``windows`` (the reference code's way), a long sentence
  is split into consecutive windows, each trained on and scored as a sequence of its own.
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
from alignfreeze.data.subwords import TokenizationSettings, encode_word_windows
from alignfreeze.data.ud import UPOS_TAGS
from alignfreeze.errors import AlignfreezeError
from alignfreeze.evaluate.metrics import accuracy, ner_scores, qa_scores, reference_qa_scores
from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings

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
    """A task's preprocessing, head and scoring, under the run's settings: ``training``
    (lengths, long sentences, QA stride), ``evaluation`` (scorers), ``tokenization`` (lone
    ``▁`` pieces) and the ``source_language`` it is trained on."""

    name: str
    primary_metric: str
    metrics: tuple[str, ...]

    def __init__(
        self,
        training: TrainingSettings | None = None,
        evaluation: EvaluationSettings | None = None,
        tokenization: TokenizationSettings | None = None,
        source_language: str = "en",
    ):
        self.training = training or TrainingSettings()
        self.evaluation = evaluation or EvaluationSettings()
        self.tokenization = tokenization or TokenizationSettings()
        self.source_language = source_language

    def label_list(self, train: Sequence[Any]) -> list[str]:
        return []

    #: The head this task puts on the encoder (alignfreeze.models.loading.HEADS).
    head: str

    def load_model(self, name: str, labels: list[str], device: str | None = None):
        """The task model (encoder + fresh head) of ``name`` on the configured device."""
        from alignfreeze.models.loading import load_model

        return load_model(name, self.head, labels, device)

    @abstractmethod
    def encode(self, records: Sequence[Any], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        """Training features: dicts of int lists, each with ``input_ids``."""

    def encoding_settings(self) -> dict:
        """Every setting :meth:`encode` depends on besides its arguments."""
        return {
            "task": self.name,
            "long_sentences": self.training.long_sentences,
            "doc_stride": self.training.doc_stride,
            "lone_boundary_pieces": self.tokenization.lone_boundary_pieces,
        }

    def encode_cached(self, records: Sequence[Any], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        """:meth:`encode`, read from the on-disk cache when the same records were encoded with
        the same tokenizer and settings before (by another run of a grid, say)."""
        from alignfreeze.cache import cached, content_key, tokenizer_key

        key = content_key(self.encoding_settings(), tokenizer_key(tokenizer), list(records), max_length, list(labels))
        return cached("features", key, lambda: self.encode(records, tokenizer, max_length, labels))

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
    def evaluate(
        self,
        model,
        tokenizer,
        records: Sequence[Any],
        language: str,
        max_length: int,
        batch_size: int,
        labels: list[str],
    ) -> Scores:
        """Score ``records`` of one language."""


def _device(model) -> torch.device:
    return next(model.parameters()).device


class TaggingTask(Task):
    head = "token"

    def label_list(self, train: Sequence[TaggedSentence]) -> list[str]:
        return sorted({t for s in train for t in s.tags})

    def _windows(self, tokenizer, sentences, max_length: int):
        return encode_word_windows(
            tokenizer,
            sentences,
            max_length,
            windows=self.training.long_sentences == "windows",
            lone_boundary_pieces=self.tokenization.lone_boundary_pieces,
        )

    def encode(self, records: Sequence[TaggedSentence], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        index = {label: i for i, label in enumerate(labels)}
        features = []
        for start in range(0, len(records), 1000):
            chunk = records[start : start + 1000]
            for window in self._windows(tokenizer, [r.words for r in chunk], max_length):
                record = chunk[window.sentence]
                tags = [IGNORE] * len(window.input_ids)
                for w, pos in enumerate(window.mapping.first_subword):
                    if pos >= 0:
                        tags[pos] = index.get(record.tags[w], IGNORE)
                features.append({"input_ids": window.input_ids, "labels": tags})
        return features

    def predict(
        self,
        model,
        tokenizer,
        records: Sequence[TaggedSentence],
        max_length: int,
        batch_size: int,
        labels: list[str],
        fallback: str,
    ) -> tuple[list[list[str]], list[list[str]], int]:
        """Scored sequences ``(gold, predicted)`` and how many words were cut off.

        ``truncate``: one sequence per sentence; a word cut off by ``max_length`` is
        predicted as ``fallback`` (and counted). ``windows``: one sequence per window, made
        of the words whose first subword (in that window) is scored."""
        model.eval()
        windows = self._windows(tokenizer, [r.words for r in records], max_length)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k].input_ids))
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        best: list[list[int]] = [[] for _ in windows]
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                ids = _pad([windows[k].input_ids for k in idx], pad_id)
                mask = _pad([[1] * len(windows[k].input_ids) for k in idx], 0)
                logits = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model))).logits
                for row, k in enumerate(idx):
                    best[k] = logits[row].argmax(-1).tolist()
        gold_sequences, predicted_sequences, truncated = [], [], 0
        split = self.training.long_sentences == "windows"
        for window, predicted in zip(windows, best):
            record = records[window.sentence]
            gold, tags = [], []
            for w, pos in enumerate(window.mapping.first_subword):
                if pos >= 0:
                    gold.append(record.tags[w])
                    tags.append(labels[predicted[pos]])
                elif not split:
                    truncated += 1
                    gold.append(record.tags[w])
                    tags.append(fallback)
            if gold or not split:
                gold_sequences.append(gold)
                predicted_sequences.append(tags)
        return gold_sequences, predicted_sequences, truncated

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
        gold, predicted, truncated = self.predict(
            model, tokenizer, records, max_length, batch_size, labels, fallback=""
        )
        flat_gold = [t for g in gold for t in g]
        flat = [t for p in predicted for t in p]
        return Scores(
            {"accuracy": accuracy(flat_gold, flat)},
            {
                "words": len(flat_gold),
                "sequences": len(gold),
                "truncated_words": truncated,
                **self._unseen(records, labels),
            },
        )


class NerTask(TaggingTask):
    name = "ner"
    primary_metric = "f1"
    metrics = ("f1", "precision", "recall", "accuracy")

    def evaluate(self, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
        gold, predicted, truncated = self.predict(
            model, tokenizer, records, max_length, batch_size, labels, fallback="O"
        )
        scores = ner_scores(gold, predicted, repair=self.evaluation.ner_bio_repair)
        words = sum(len(g) for g in gold)
        return Scores(
            scores,
            {"words": words, "sequences": len(gold), "truncated_words": truncated, **self._unseen(records, labels)},
        )


class NliTask(Task):
    head = "sequence"
    name = "nli"
    primary_metric = "accuracy"
    metrics = ("accuracy",)

    def label_list(self, train) -> list[str]:
        return list(NLI_LABELS)

    def _encode(self, records: Sequence[NliExample], tokenizer, max_length: int, **kwargs):
        return tokenizer(
            [r.premise for r in records],
            [r.hypothesis for r in records],
            truncation=True,
            max_length=max_length,
            **kwargs,
        )

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
    head = "qa"
    name = "qa"
    primary_metric = "f1"
    metrics = ("f1", "exact_match")

    #: Longest answer, in tokens, of the "squad" scorer's span search.
    max_answer_tokens = 30

    @property
    def doc_stride(self) -> int:
        return self.training.doc_stride

    def _windows(self, records: Sequence[QaExample], tokenizer, max_length: int, **kwargs):
        stride = min(self.doc_stride, max_length // 2)
        return tokenizer(
            [r.question.lstrip() for r in records],
            [r.context for r in records],
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            **kwargs,
        )

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
        if self.evaluation.qa_scorer == "reference":
            predictions = pipeline_answers(model, tokenizer, records, batch_size)
            firsts = [r.answers[0].text if r.answers else "" for r in records]
            scores = reference_qa_scores(predictions, firsts, normalized_em=language == self.source_language)
            return Scores(scores, {"questions": len(records), "scorer": "reference"})
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
                        score, text = self._best_span(
                            starts[r], ends[r], enc["offset_mapping"][w], enc.sequence_ids(w), records[i].context
                        )
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


#: The question-answering pipeline's defaults that the reference code ran with
#: (transformers 4.18, ``multilingual_eval/training/evaluation_loops.py`` lines 132-134).
PIPELINE_MAX_LENGTH, PIPELINE_STRIDE, PIPELINE_MAX_ANSWER_TOKENS = 384, 128, 15


def pipeline_answers(model, tokenizer, records: Sequence[QaExample], batch_size: int = 64) -> list[str]:
    """Answers as the transformers question-answering pipeline picks them with its
    defaults: question + context windows of ``min(384, model_max_length)`` tokens with an
    overlap of half that (at most 128); in each window, softmax over the start logits and
    over the end logits of the context tokens (and the first token, which is then zeroed),
    the best ``p(start) * p(end)`` span of at most 15 tokens, widened to whole words of the
    context (leading whitespace trimmed); the best window wins."""
    import numpy as np

    model.eval()
    max_length = min(
        PIPELINE_MAX_LENGTH, getattr(tokenizer, "model_max_length", PIPELINE_MAX_LENGTH) or PIPELINE_MAX_LENGTH
    )
    stride = min(max_length // 2, PIPELINE_STRIDE)
    best: list[tuple[float, str]] = [(-1.0, "") for _ in records]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for start in range(0, len(records), batch_size):
            chunk = list(range(start, min(start + batch_size, len(records))))
            enc = tokenizer(
                [records[i].question for i in chunk],
                [records[i].context for i in chunk],
                truncation="only_second",
                max_length=max_length,
                stride=stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            n = len(enc["input_ids"])
            for w0 in range(0, n, batch_size):
                rows = list(range(w0, min(w0 + batch_size, n)))
                ids = _pad([enc["input_ids"][w] for w in rows], pad_id)
                mask = _pad([[1] * len(enc["input_ids"][w]) for w in rows], 0)
                out = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model)))
                starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
                for r, w in enumerate(rows):
                    length = len(enc["input_ids"][w])
                    sequence = enc.sequence_ids(w)
                    allowed = np.array([s == 1 for s in sequence])
                    allowed[[k for k, t in enumerate(enc["input_ids"][w]) if t == tokenizer.cls_token_id]] = True
                    score, span = _pipeline_span(starts[r, :length], ends[r, :length], allowed)
                    if span is None:
                        continue
                    i = chunk[enc["overflow_to_sample_mapping"][w]]
                    begin, end = _word_chars(enc, w, span[0])[0], _word_chars(enc, w, span[1])[1]
                    if score > best[i][0]:
                        best[i] = (score, records[i].context[begin:end].lstrip())
    return [text for _, text in best]


def _word_chars(enc, row: int, token: int) -> tuple[int, int]:
    """The context characters of the pre-tokenizer word that holds ``token`` (within this
    window), from the offsets rather than ``word_to_chars``, whose treatment of the space
    before a word changed across tokenizers versions. For XLM-R a word is a whitespace-
    separated chunk, punctuation included; for BERT, punctuation is a word of its own."""
    offsets, words, sequence = enc["offset_mapping"][row], enc.word_ids(row), enc.sequence_ids(row)
    word = words[token]
    if word is None:
        return offsets[token][0], offsets[token][1]
    members = [k for k in range(len(words)) if words[k] == word and sequence[k] == 1]
    return min(offsets[k][0] for k in members), max(offsets[k][1] for k in members)


def _pipeline_span(start_logits, end_logits, allowed, max_answer_tokens: int = PIPELINE_MAX_ANSWER_TOKENS):
    """``(score, (start, end))`` of the pipeline's best span in one window, or ``(0, None)``."""
    import numpy as np

    def softmax(logits):
        masked = np.where(allowed, logits, -10000.0)
        exp = np.exp(masked - masked.max())
        return exp / exp.sum()

    p_start, p_end = softmax(start_logits), softmax(end_logits)
    p_start[0] = p_end[0] = 0.0  # the pipeline masks the first ([CLS]/<s>) token after the softmax
    candidates = np.tril(np.triu(np.outer(p_start, p_end)), max_answer_tokens - 1)
    s, e = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    if not (allowed[s] and allowed[e]):
        return 0.0, None
    return float(candidates[s, e]), (int(s), int(e))


TASKS: dict[str, type[Task]] = {"pos": PosTask, "ner": NerTask, "nli": NliTask, "qa": QaTask}


def get_task(
    name: str,
    training: TrainingSettings | None = None,
    evaluation: EvaluationSettings | None = None,
    tokenization: TokenizationSettings | None = None,
    source_language: str = "en",
) -> Task:
    if name not in TASKS:
        raise AlignfreezeError(f"unknown task {name!r} (allowed: {', '.join(TASKS)})")
    return TASKS[name](training, evaluation, tokenization, source_language)
