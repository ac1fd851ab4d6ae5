"""Typed records returned by the readers. Plain dataclasses: cheap, picklable (Ray), and
easy to turn into ``datasets.Dataset`` rows with ``dataclasses.asdict``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TaggedSentence:
    """A sentence of words with one tag per word: UPOS (CoNLL-U) or BIO (PAN-X)."""

    words: list[str]
    tags: list[str]
    sent_id: str | None = None


@dataclass(slots=True)
class NliExample:
    premise: str
    hypothesis: str
    label: str  # one of NLI_LABELS


NLI_LABELS = ("entailment", "neutral", "contradiction")


@dataclass(slots=True)
class QaAnswer:
    text: str
    start: int  # character offset into the context


@dataclass(slots=True)
class QaExample:
    id: str
    title: str
    context: str
    question: str
    answers: list[QaAnswer]


@dataclass(slots=True)
class SentencePair:
    src: str
    tgt: str


@dataclass(slots=True, frozen=True)
class DictionaryEntry:
    src: str
    tgt: str


@dataclass(slots=True)
class WordAlignment:
    """Links of one sentence pair, as 0-based (source word, target word) indices.

    ``sure`` are the links a gold standard marks as certain; ``possible`` holds every link
    marked possible *or* sure, since Och & Ney's AER assumes S ⊆ P. A predicted alignment
    sets both to the same links.
    """

    sure: set[tuple[int, int]] = field(default_factory=set)
    possible: set[tuple[int, int]] = field(default_factory=set)
