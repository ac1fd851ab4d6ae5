"""Sentence fingerprints: which sentences a model was realigned on.

Alignment measured on sentences the model was realigned on would reward memorisation, so
the analysis leaves them out (:mod:`alignfreeze.analysis.word_pairs`). A fingerprint
ignores tokenisation, spacing and case: the same sentence split differently by two tools
still matches.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence

from alignfreeze.fileio import atomic_write_text

SENTENCES_FILE = "realign-sentences.txt"


def sentence_fingerprint(words: Sequence[str]) -> str:
    text = "".join("".join(words).split()).casefold()
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class SentenceSet:
    """Fingerprints of sentences (either language) used for realignment."""

    def __init__(self, fingerprints: Iterable[str] = ()):
        self.fingerprints: set[str] = set(fingerprints)

    def __len__(self) -> int:
        return len(self.fingerprints)

    def __contains__(self, words: Sequence[str]) -> bool:
        return sentence_fingerprint(words) in self.fingerprints

    def add(self, words: Sequence[str]) -> None:
        self.fingerprints.add(sentence_fingerprint(words))

    def add_corpus(self, corpus) -> "SentenceSet":
        for pair in corpus.pairs:
            self.add(pair.src)
            self.add(pair.tgt)
        return self

    @classmethod
    def of(cls, corpora: Iterable) -> "SentenceSet":
        out = cls()
        for corpus in corpora:
            out.add_corpus(corpus)
        return out

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, "".join(f"{f}\n" for f in sorted(self.fingerprints)))

    @classmethod
    def load(cls, path: str | Path) -> "SentenceSet":
        return cls(line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip())

    @classmethod
    def of_model(cls, model_dir: str | Path) -> "SentenceSet | None":
        """The realignment sentences recorded next to a realigned model, if any."""
        path = Path(model_dir) / SENTENCES_FILE
        return cls.load(path) if path.is_file() else None
