"""The four tasks -- ``pos``, ``ner``, ``nli``, ``qa`` -- each with its preprocessing and
its head; how each is scored lives in :mod:`alignfreeze.evaluate`.

* ``pos`` / ``ner`` (token classification): a sentence's words are as the run's
  tokenization settings say (:meth:`Task.prepare_records`: UD's multiword tokens dropped or
  kept, tagged ``_``; Chinese NER per character or in words). A word's label goes on its
  first subword (:func:`alignfreeze.data.encode_word_windows`, lone ``▁`` pieces skipped or
  removed per the run's tokenization settings); other subwords get -100. With ``long_sentences:
  truncate``, words cut off by the length limit are not trained on; with ``windows`` (the
  reference code's way), a long sentence is split into consecutive windows, each a
  training sequence of its own.
* ``nli``: premise/hypothesis pair classification into ``entailment``, ``neutral``,
  ``contradiction``.
* ``qa``: extractive QA. Question + context windows of ``max_length`` with a stride
  (``doc_stride`` tokens of overlap), cut by :func:`qa_windows` rather than by the
  tokenizer's overflow feature, whose behaviour varies across transformers versions;
  answers are mapped to token positions through the offset mapping (a window without the
  answer points at ``<s>``/``[CLS]``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from alignfreeze.data.panx import chinese_segmenter, resegment_chinese
from alignfreeze.data.records import NLI_LABELS, NliExample, QaExample, TaggedSentence
from alignfreeze.data.subwords import TokenizationSettings, encode_word_windows
from alignfreeze.data.ud import MULTIWORD_LABEL, UPOS_TAGS, with_multiword_tokens
from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings

IGNORE = -100


def pad_sequences(sequences: Sequence[Sequence[int]], value: int) -> torch.Tensor:
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

    def prepare_records(self, records: Sequence[Any], language: str) -> Sequence[Any]:
        """``records`` of ``language`` as this task reads them under the run's tokenization
        settings (for pos and ner: which words a sentence has); the others as they are.
        :meth:`encode` and :meth:`label_list` apply it to the training records, as those of
        ``source_language``; :func:`alignfreeze.evaluate` to each language's."""
        return records

    def check_ready(self, languages: Sequence[str]) -> None:
        """Raise now, before any training, the error :meth:`prepare_records` would raise for
        records of ``languages`` (an optional package it needs and does not find)."""
        return None

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
            # Those of prepare_records, where not at their defaults (so earlier caches still hold).
            **{
                name: getattr(self.tokenization, name)
                for name in ("multiword_tokens", "zh_ner_segmentation")
                if getattr(self.tokenization, name) != TokenizationSettings.model_fields[name].default
            },
            **({"source_language": self.source_language} if self.tokenization.zh_ner_segmentation != "none" else {}),
        }

    def encode_cached(self, records: Sequence[Any], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        """:meth:`encode`, read from the on-disk cache when the same records were encoded with
        the same tokenizer and settings before (by another run of a grid, say)."""
        from alignfreeze.cache import cached, content_key, tokenizer_key

        key = content_key(self.encoding_settings(), tokenizer_key(tokenizer), list(records), max_length, list(labels))
        return cached("features", key, lambda: self.encode(records, tokenizer, max_length, labels))

    def collate(self, features: Sequence[dict], pad_id: int) -> dict[str, torch.Tensor]:
        ids = [f["input_ids"] for f in features]
        batch = {
            "input_ids": pad_sequences(ids, pad_id),
            "attention_mask": pad_sequences([[1] * len(x) for x in ids], 0),
        }
        if "labels" in features[0]:
            labels = [f["labels"] for f in features]
            batch["labels"] = pad_sequences(labels, IGNORE) if isinstance(labels[0], list) else torch.tensor(labels)
        for key in ("start_positions", "end_positions"):
            if key in features[0]:
                batch[key] = torch.tensor([f[key] for f in features])
        return batch


class TaggingTask(Task):
    head = "token"

    def label_list(self, train: Sequence[TaggedSentence]) -> list[str]:
        return sorted({t for s in self.prepare_records(train, self.source_language) for t in s.tags})

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
        records = self.prepare_records(records, self.source_language)
        features = []
        for start in range(0, len(records), 1000):
            chunk = records[start : start + 1000]
            for window in self._windows(tokenizer, [r.words for r in chunk], max_length):
                record = chunk[window.sentence]
                tags = [IGNORE] * len(window.input_ids)
                for w, pos in enumerate(window.mapping.label_positions(self.tokenization.label_subword)):
                    if pos >= 0:
                        tags[pos] = index.get(record.tags[w], IGNORE)
                features.append({"input_ids": window.input_ids, "labels": tags})
        return features


class PosTask(TaggingTask):
    name = "pos"
    primary_metric = "accuracy"
    metrics = ("accuracy",)

    def label_list(self, train: Sequence[TaggedSentence]) -> list[str]:
        # The full UPOS set, so a tag absent from a small training set is still a class; and
        # "_" when multiword tokens are kept, as the reference's 18 labels have it.
        kept = {MULTIWORD_LABEL} if self.tokenization.multiword_tokens == "keep_as_label" else set()
        return sorted(
            set(UPOS_TAGS) | kept | {t for s in self.prepare_records(train, self.source_language) for t in s.tags}
        )

    def prepare_records(self, records: Sequence[TaggedSentence], language: str) -> Sequence[TaggedSentence]:
        """``multiword_tokens: keep_as_label``: each multiword token's form before its words,
        tagged ``_`` (:func:`alignfreeze.data.ud.with_multiword_tokens`)."""
        if self.tokenization.multiword_tokens == "keep_as_label":
            return [with_multiword_tokens(r) for r in records]
        return records


class NerTask(TaggingTask):
    name = "ner"
    # Word accuracy: what the AlignFreeze table reports for NER (entity F1 is also measured).
    primary_metric = "accuracy"
    metrics = ("f1", "precision", "recall", "accuracy")

    def prepare_records(self, records: Sequence[TaggedSentence], language: str) -> Sequence[TaggedSentence]:
        """Chinese under ``zh_ner_segmentation`` other than none: re-segmented into words, each
        word cut where its characters' tags part (:func:`alignfreeze.data.panx.resegment_chinese`)."""
        if language == "zh" and self.tokenization.zh_ner_segmentation != "none":
            segment = chinese_segmenter(self.tokenization.zh_ner_segmentation)
            return [resegment_chinese(r, segment) for r in records]
        return records

    def check_ready(self, languages: Sequence[str]) -> None:
        if "zh" in languages and self.tokenization.zh_ner_segmentation != "none":
            chinese_segmenter(self.tokenization.zh_ner_segmentation)


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

    def _windows(self, records: Sequence[QaExample], tokenizer, max_length: int) -> QaWindows:
        stride = min(self.doc_stride, max_length // 2)
        return qa_windows(
            tokenizer, [r.question.lstrip() for r in records], [r.context for r in records], max_length, stride
        )

    def encode(self, records: Sequence[QaExample], tokenizer, max_length: int, labels: list[str]) -> list[dict]:
        records = [r for r in records if r.answers]
        features = []
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            windows = self._windows(chunk, tokenizer, max_length)
            for w, ids in enumerate(windows.input_ids):
                record = chunk[windows.example[w]]
                answer = record.answers[0]
                a_start, a_end = answer.start, answer.start + len(answer.text)
                offsets, seq = windows.offsets[w], windows.sequence_ids[w]
                context = [i for i, s in enumerate(seq) if s == 1]
                s_tok = e_tok = 0  # the <s>/[CLS] position: "no answer in this window"
                if context and offsets[context[0]][0] <= a_start and offsets[context[-1]][1] >= a_end:
                    s_tok = next(i for i in context if offsets[i][1] > a_start)
                    e_tok = next(i for i in reversed(context) if offsets[i][0] < a_end)
                features.append({"input_ids": ids, "start_positions": s_tok, "end_positions": e_tok})
        return features


@dataclass
class QaWindows:
    """Question + context windows, one row per window: the ``input_ids`` with the
    tokenizer's special tokens, each token's ``offsets`` (characters in its own text, the
    question or the context; ``(0, 0)`` for special tokens), ``sequence_ids`` (0 question,
    1 context, None special), ``word_ids`` (the pre-tokenizer word within its own text) and
    ``example``, the index of the question the window belongs to."""

    input_ids: list[list[int]] = field(default_factory=list)
    offsets: list[list[tuple[int, int]]] = field(default_factory=list)
    sequence_ids: list[list[int | None]] = field(default_factory=list)
    word_ids: list[list[int | None]] = field(default_factory=list)
    example: list[int] = field(default_factory=list)


def pair_template(tokenizer) -> tuple[list[int], list[int], list[int]]:
    """The special token ids a (fast) tokenizer puts before the first text of a pair,
    between the two and after the second: ``<s>``, ``</s></s>``, ``</s>`` for XLM-R,
    ``[CLS]``, ``[SEP]``, ``[SEP]`` for BERT."""
    probe = tokenizer("question", "context")
    ids, seq = list(probe["input_ids"]), probe.sequence_ids(0)
    q = [i for i, s in enumerate(seq) if s == 0]
    c = [i for i, s in enumerate(seq) if s == 1]
    if not q or not c or q != list(range(q[0], q[-1] + 1)) or c != list(range(c[0], c[-1] + 1)) or q[-1] > c[0]:
        raise AlignfreezeError(f"qa: cannot read the pair template of {type(tokenizer).__name__} (sequence ids {seq})")
    return ids[: q[0]], ids[q[-1] + 1 : c[0]], ids[c[-1] + 1 :]


def window_spans(length: int, room: int, stride: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the windows of ``room`` tokens that cover ``length`` context
    tokens, each starting ``room - stride`` after the previous one (so consecutive windows
    share ``stride`` tokens); the last one ends at the context's end. A context that fits
    is one window."""
    if length <= room:
        return [(0, length)]
    if room <= stride:
        raise AlignfreezeError(
            f"qa: a question leaves {max(room, 0)} tokens of the window for the context, "
            f"not more than the overlap of {stride} (raise max_length or lower doc_stride)"
        )
    spans = []
    for start in range(0, length, room - stride):
        spans.append((start, min(start + room, length)))
        if spans[-1][1] == length:
            break
    return spans


def qa_windows(tokenizer, questions: Sequence[str], contexts: Sequence[str], max_length: int, stride: int) -> QaWindows:
    """Each question with its context cut into windows of at most ``max_length`` tokens
    (special tokens included), consecutive windows sharing ``stride`` context tokens: what
    ``tokenizer(questions, contexts, truncation="only_second", stride=stride,
    return_overflowing_tokens=True)`` gives, computed here so that it does not depend on
    how a transformers version implements overflowing tokens. The question is never cut;
    one that leaves no more than ``stride`` tokens for the context is an error."""
    before, between, after = pair_template(tokenizer)

    def layout(special, question: list, context: list) -> list:
        return [special] * len(before) + question + [special] * len(between) + context + [special] * len(after)

    settings = {"add_special_tokens": False, "return_offsets_mapping": True, "verbose": False}
    q_enc, c_enc = tokenizer(list(questions), **settings), tokenizer(list(contexts), **settings)
    windows = QaWindows()
    for n in range(len(questions)):
        q_ids, q_offsets, q_words = q_enc["input_ids"][n], q_enc["offset_mapping"][n], q_enc.word_ids(n)
        c_ids, c_offsets, c_words = c_enc["input_ids"][n], c_enc["offset_mapping"][n], c_enc.word_ids(n)
        room = max_length - len(q_ids) - len(before + between + after)
        for start, stop in window_spans(len(c_ids), room, stride):
            window = slice(start, stop)
            windows.input_ids.append(before + q_ids + between + c_ids[window] + after)
            windows.offsets.append([tuple(o) for o in layout((0, 0), q_offsets, c_offsets[window])])
            windows.sequence_ids.append(layout(None, [0] * len(q_ids), [1] * (stop - start)))
            windows.word_ids.append(layout(None, q_words, c_words[window]))
            windows.example.append(n)
    return windows


TASKS: dict[str, type[Task]] = {"pos": PosTask, "ner": NerTask, "nli": NliTask, "qa": QaTask}
#: Each task's default table metric (a task's ``primary_metric``: the one place it is set).
PRIMARY_METRICS: dict[str, str] = {name: task.primary_metric for name, task in TASKS.items()}


def get_task(
    name: str,
    training: TrainingSettings | None = None,
    evaluation: EvaluationSettings | None = None,
    tokenization: TokenizationSettings | None = None,
    source_language: str = "en",
) -> Task:
    """The task called ``name`` (pos, ner, nli, qa), set up with a run's settings: how it
    encodes records into features, collates them, and which head and labels its model has.

    Args:
        name: pos, ner, nli or qa.
        training, evaluation, tokenization: the run's settings (defaults when omitted).
        source_language: the fine-tuning language (QA's reference scorer treats it apart).

    Example::

        task = af.get_task("pos")
        features = task.encode(records, tokenizer, 128, task.label_list(records))
    """
    if name not in TASKS:
        raise AlignfreezeError(f"unknown task {name!r} (allowed: {', '.join(TASKS)})")
    return TASKS[name](training, evaluation, tokenization, source_language)
