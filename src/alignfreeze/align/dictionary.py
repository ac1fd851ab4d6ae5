"""Bilingual-dictionary aligner (MUSE), with the matching rules of the AlignFreeze reference.

For each sentence pair, a link ``(i, j)`` is kept only when all of these hold:

* the source word ``src[i]`` has exactly one dictionary translation present in the
  target sentence (matching is case-sensitive);
* that target word occurs exactly once in the target sentence (its position ``j``);
* exactly one source position maps to that target word (one-to-one).

Dictionary entries whose source and target are the same string are dropped: they would
link numbers, names and punctuation, which the references exclude.

Text in scripts without spaces is split one character per word
(:func:`alignfreeze.data.split_words`), while dictionaries hold multi-character words
(94% of MUSE en-zh targets). A dictionary word therefore also matches a run of
consecutive single-character words that spells it (``委员会`` = ``委``, ``员``, ``会``), and
the link goes to the run's first character -- the same "first piece" convention as the
first subword. "Occurs exactly once" and "one-to-one" are then judged on those runs.
Runs are only formed from single characters of no-space scripts, so ``New York`` never
matches ``new`` + ``york``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Sequence

from alignfreeze.align.base import Links, Progress, WordAligner
from alignfreeze.data.records import DictionaryEntry
from alignfreeze.data.words import NO_SPACE_CHAR

MAX_RUN = 8  # longest multi-character dictionary word matched as a run of characters


def occurrences(words: list[str], vocabulary: set[str] | dict) -> dict[str, list[int]]:
    """Start positions of every dictionary word in a sentence: single words, plus runs of
    single no-space-script characters that spell a dictionary word."""
    found: dict[str, list[int]] = defaultdict(list)
    is_char = [len(w) == 1 and bool(NO_SPACE_CHAR.match(w)) for w in words]
    for start, word in enumerate(words):
        if word in vocabulary:
            found[word].append(start)
        if not is_char[start]:
            continue
        run = word
        for end in range(start + 1, min(start + MAX_RUN, len(words))):
            if not is_char[end]:
                break
            run += words[end]
            if run in vocabulary:
                found[run].append(start)
    return found


class DictionaryAligner(WordAligner):
    name = "dictionary"

    def __init__(self, entries: Iterable[DictionaryEntry], source: str = ""):
        self.translations: dict[str, set[str]] = defaultdict(set)
        for e in entries:
            if e.src != e.tgt:
                self.translations[e.src].add(e.tgt)
        self.source = source
        self.n_entries = sum(len(v) for v in self.translations.values())
        self.target_vocabulary = {t for ts in self.translations.values() for t in ts}

    def settings(self) -> dict:
        return {"dictionary": self.source, "entries": self.n_entries}

    def align_sentence(self, src: list[str], tgt: list[str]) -> Links:
        in_target = occurrences(tgt, self.target_vocabulary)
        chosen: dict[int, str] = {}
        for word, starts in occurrences(src, self.translations).items():
            present = [t for t in self.translations[word] if t in in_target]
            if len(present) == 1 and len(in_target[present[0]]) == 1:
                for i in starts:
                    chosen[i] = present[0]
        sources_per_target = Counter(chosen.values())
        return sorted((i, in_target[t][0]) for i, t in chosen.items() if sources_per_target[t] == 1)

    def align_words(self, src: Sequence[list[str]], tgt: Sequence[list[str]], progress: Progress | None = None) -> list[Links]:
        out = []
        for n, (s, t) in enumerate(zip(src, tgt), start=1):
            out.append(self.align_sentence(s, t))
            if progress and n % 500 == 0:
                progress(500)
        if progress:
            progress(len(out) % 500)
        return out
