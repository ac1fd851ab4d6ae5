"""Mixtures of parallel corpora for one language pair: a ``dataset:`` that names several.

Two kinds, both written where a :class:`~alignfreeze.data.refs.ParallelRef` names its
``dataset``:

* **Weighted**, ``dataset: {nllb: 0.5, opus100: 0.5}``: each sentence pair is drawn from a
  corpus chosen with probability proportional to its weight (:class:`MixedParallelFile`). The
  config keeps it as one string, ``nllb=0.5+opus100=0.5`` (corpora sorted, weights as given),
  so that a run's data is named, hashed and listed like any single corpus.
* **Named rules** (:data:`NAMED_MIXTURES`): one corpus per language, chosen by a rule.
  ``mix_opus100_nllb`` is the emnlp-2026 reference's ``mix_opus100_nllb`` (final_run_script.sh
  line 18; download_resources.sh lines 7-9, 28-64): NLLB for its 27 NLLB languages
  (:data:`REFERENCE_NLLB_LANGUAGES`), OPUS-100 for the others. Several of those 27 have an
  OPUS-100 pair too (am, ha, ig...); the reference takes NLLB for them, and so does the rule.

Example::

    from alignfreeze.data.mixtures import mixture_parts
    mixture_parts("en-ha", "mix_opus100_nllb")          # [('nllb', 1.0)]
    mixture_parts("en-fr", "nllb=0.25+opus100=0.75")    # [('nllb', 0.25), ('opus100', 0.75)]
"""

from __future__ import annotations

import math
from typing import Callable

from alignfreeze.data.records import SentencePair

#: Between the corpora of a weighted mixture's name, and between a corpus and its weight.
PART_SEPARATOR = "+"
WEIGHT_SEPARATOR = "="

#: Our codes of the 27 languages the emnlp-2026 reference reads from NLLB
#: (download_resources.sh line 9, ``nllb_langs``; NLLB codes -> ours by
#: :data:`alignfreeze.data.languages.NLLB_CODES`).
REFERENCE_NLLB_LANGUAGES = (
    "am", "bm", "ee", "fon", "ha", "ig", "rw", "ln", "lg", "luo", "mos", "ny", "om", "sn", "sw", "tn", "tw", "wo",
    "xh", "yo", "zu", "my", "jv", "tl", "te", "mr", "kk",
)  # fmt: skip


def _opus100_or_nllb(pair: str) -> str:
    other = [lang for lang in pair.split("-") if lang != "en"]
    return "nllb" if other and other[0] in REFERENCE_NLLB_LANGUAGES else "opus100"


#: Named mixtures: name -> the corpus it reads for a language pair.
NAMED_MIXTURES: dict[str, Callable[[str], str]] = {"mix_opus100_nllb": _opus100_or_nllb}


def weighted_name(weights: dict[str, float]) -> str:
    """A weighted mixture as a config keeps it: ``nllb=0.5+opus100=0.5`` (corpora sorted).
    A ValueError when a weight is not a positive number or a corpus name has a separator."""
    if not weights:
        raise ValueError("a mixture of corpora needs at least one corpus: {nllb: 0.5, opus100: 0.5}")
    parts = []
    for name, weight in sorted(weights.items()):
        if not isinstance(name, str) or not name or any(s in name for s in (PART_SEPARATOR, WEIGHT_SEPARATOR)):
            raise ValueError(f"mixture corpus {name!r} is not a corpus name")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"mixture weight of {name!r} must be a positive number, not {weight!r}")
        parts.append(f"{name}{WEIGHT_SEPARATOR}{weight:g}")
    return PART_SEPARATOR.join(parts)


def parse_weights(dataset: str | None) -> dict[str, float] | None:
    """The weights of a weighted mixture's name (:func:`weighted_name`), or None when
    ``dataset`` is not one."""
    if not dataset or WEIGHT_SEPARATOR not in dataset:
        return None
    weights = {}
    for part in dataset.split(PART_SEPARATOR):
        name, _, weight = part.partition(WEIGHT_SEPARATOR)
        try:
            weights[name] = float(weight)
        except ValueError:
            raise ValueError(f"mixture {dataset!r}: weight {weight!r} of {name!r} is not a number") from None
    weighted_name(weights)  # the same checks as when it was written
    return weights


def is_mixture(dataset: str | None) -> bool:
    return dataset in NAMED_MIXTURES or parse_weights(dataset) is not None


def mixture_parts(pair: str, dataset: str | None) -> list[tuple[str | None, float]]:
    """The corpora a ``dataset:`` reads for ``pair``, with their weights: a named mixture's
    corpus for this pair, a weighted mixture's corpora, or ``dataset`` itself (weight 1)."""
    if dataset in NAMED_MIXTURES:
        return [(NAMED_MIXTURES[dataset](pair), 1.0)]
    weights = parse_weights(dataset)
    if weights is None:
        return [(dataset, 1.0)]
    return list(weights.items())


class MixedParallelFile:
    """Several parallel corpora of one language pair seen as one, each sentence pair drawn
    from a corpus chosen with probability proportional to its weight.

    Position ``i`` of the mixture is assigned to a corpus by a seeded draw (the same
    ``seed``, the same assignment), and to that corpus's next pair in file order, from its
    start again once it is used up: a corpus whose weight exceeds its share of the pairs
    repeats, and one below it is read in part. The mixture has as many positions as its
    corpora have pairs together. Random access like
    :class:`~alignfreeze.data.parallel.ParallelFile` (``len``, ``pairs``, ``lines``), so
    realignment draws from it as from one corpus.

    Example::

        mixed = MixedParallelFile([(opus, 0.5), (nllb, 0.5)], names=["opus100", "nllb"])
        len(mixed), mixed.pairs([0, 1, 2]), mixed.corpus_of([0, 1, 2])
    """

    def __init__(self, parts: list[tuple[object, float]], names: list[str] | None = None, seed: int = 0):
        import numpy as np

        if not parts:
            raise ValueError("a mixture needs at least one corpus")
        self.parts = [corpus for corpus, _ in parts]
        self.names = names or [str(k) for k in range(len(parts))]
        weights = np.array([w for _, w in parts], dtype=float)
        self.weights = weights / weights.sum()
        self.files = tuple(f for corpus in self.parts for f in getattr(corpus, "files", ()))
        sizes = [len(corpus) for corpus in self.parts]
        if min(sizes) == 0:
            empty = self.names[sizes.index(0)]
            raise ValueError(f"mixture corpus {empty!r} has no sentence pairs")
        total = sum(sizes)
        rng = np.random.default_rng(seed)
        self._corpus = rng.choice(len(parts), size=total, p=self.weights).astype(np.int16)
        # The position of each mixture pair within its corpus: how many earlier positions
        # went to the same corpus, wrapped to the corpus's size.
        self._line = np.zeros(total, dtype=np.int32 if max(sizes) < 2**31 else np.int64)  # 6 bytes a pair
        for k, size in enumerate(sizes):
            mine = self._corpus == k
            self._line[mine] = np.arange(int(mine.sum())) % size

    def __len__(self) -> int:
        return len(self._corpus)

    def corpus_of(self, indices) -> list[str]:
        """The corpus (name) each of ``indices`` is drawn from."""
        return [self.names[int(self._corpus[int(i)])] for i in indices]

    def pairs(self, indices) -> list[SentencePair]:
        """The sentence pairs at ``indices`` (mixture positions), in that order."""
        indices = [int(i) for i in indices]
        wanted: dict[int, list[tuple[int, int]]] = {}
        for slot, i in enumerate(indices):
            wanted.setdefault(int(self._corpus[i]), []).append((slot, int(self._line[i])))
        out: list[SentencePair | None] = [None] * len(indices)
        for k, slots in wanted.items():
            for (slot, _), pair in zip(slots, self.parts[k].pairs([line for _, line in slots])):
                out[slot] = pair
        return out  # type: ignore[return-value]

    def lines(self, start: int = 0, stop: int | None = None) -> list[SentencePair]:
        stop = len(self) if stop is None else min(stop, len(self))
        return self.pairs(range(start, stop))
