"""Translated word pairs in context: the test items of the alignment measure.

A sample is drawn from an aligned corpus (normally dictionary-aligned UN or Tatoeba
sentences): sentence pairs are visited in a seeded random order, and each contributes its
links (in random order) until ``n_pairs`` word pairs are collected. By default a word pair
*type* (source word, target word, case-folded) is taken once, so that frequent pairs like
``the``/``le`` do not dominate the score.

**No leakage.** Alignment measured on sentences the model was realigned on would reward
memorisation. A :class:`~alignfreeze.data.fingerprints.SentenceSet` holds fingerprints of
the realignment sentences (both sides); a sentence pair is left out of the sample when
*either* side is in it. ``alignfreeze realign`` writes the fingerprints next to the
realigned model (``realign-sentences.txt``), ``measure-alignment`` reads them from there
automatically, and runs exclude their own realignment data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.data.fingerprints import SentenceSet, sentence_fingerprint  # noqa: F401 (re-exported)
from alignfreeze.errors import AlignfreezeError


@dataclass
class WordPairSample:
    """``n`` word pairs; word ``k`` is ``src_sentences[src_sentence[k]][src_word[k]]`` and its
    translation ``tgt_sentences[tgt_sentence[k]][tgt_word[k]]``."""

    src_lang: str
    tgt_lang: str
    src_sentences: list[list[str]]
    tgt_sentences: list[list[str]]
    src_sentence: list[int]
    src_word: list[int]
    tgt_sentence: list[int]
    tgt_word: list[int]
    stats: dict = field(default_factory=dict)

    @property
    def pair(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"

    def __len__(self) -> int:
        return len(self.src_word)

    def words(self, k: int) -> tuple[str, str]:
        return (
            self.src_sentences[self.src_sentence[k]][self.src_word[k]],
            self.tgt_sentences[self.tgt_sentence[k]][self.tgt_word[k]],
        )

    def subset(self, keep: Sequence[bool]) -> "WordPairSample":
        idx = [k for k, ok in enumerate(keep) if ok]
        pick = lambda values: [values[k] for k in idx]  # noqa: E731
        return WordPairSample(
            self.src_lang,
            self.tgt_lang,
            self.src_sentences,
            self.tgt_sentences,
            pick(self.src_sentence),
            pick(self.src_word),
            pick(self.tgt_sentence),
            pick(self.tgt_word),
            {**self.stats, "pairs": len(idx)},
        )


def sample_word_pairs(
    corpus: AlignedCorpus,
    n_pairs: int,
    seed: int = 0,
    exclude: SentenceSet | None = None,
    unique_types: bool = True,
) -> WordPairSample:
    """Draw up to ``n_pairs`` linked word pairs, in context, from ``corpus`` for alignment
    measurement (Gaschi et al., Findings of ACL 2023; see the module docstring): sentences in
    ``exclude`` (realignment data) are left out, and with ``unique_types`` each word type is
    used once.

    Raises when leakage filtering leaves no sentence pair. With fewer pairs available than
    asked, returns them all; ``stats["pairs"]`` says how many.

    Example::

        sample = af.sample_word_pairs(corpus, n_pairs=1000, seed=0)
        af.measure_alignment(model, tokenizer, sample)
    """
    if n_pairs < 1:
        raise AlignfreezeError(f"n_pairs must be at least 1 (got {n_pairs})")
    pairs = list(corpus.pairs)
    excluded = 0
    if exclude:
        kept = [p for p in pairs if p.src not in exclude and p.tgt not in exclude]
        excluded = len(pairs) - len(kept)
        pairs = kept
        if not pairs:
            raise AlignfreezeError(
                f"all {excluded} linked {corpus.src_lang}-{corpus.tgt_lang} sentence pairs were used for realignment; "
                "measure alignment on other sentences (e.g. another split or dataset)"
            )
    rng = random.Random(seed)
    rng.shuffle(pairs)
    sample = WordPairSample(corpus.src_lang, corpus.tgt_lang, [], [], [], [], [], [])
    seen: set[tuple[str, str]] = set()
    for pair in pairs:
        if len(sample) >= n_pairs:
            break
        links = list(pair.links)
        rng.shuffle(links)
        sentence = None
        for i, j in links:
            if len(sample) >= n_pairs:
                break
            key = (pair.src[i].casefold(), pair.tgt[j].casefold())
            if unique_types and key in seen:
                continue
            seen.add(key)
            if sentence is None:
                sentence = len(sample.src_sentences)
                sample.src_sentences.append(pair.src)
                sample.tgt_sentences.append(pair.tgt)
            sample.src_sentence.append(sentence)
            sample.src_word.append(i)
            sample.tgt_sentence.append(sentence)
            sample.tgt_word.append(j)
    sample.stats = {
        "pairs": len(sample),
        "requested": n_pairs,
        "sentence_pairs_used": len(sample.src_sentences),
        "sentence_pairs_available": len(pairs),
        "excluded_for_leakage": excluded,
        "unique_types": unique_types,
        "seed": seed,
        "aligner": corpus.aligner,
    }
    return sample


def dictionary_aligned(
    catalog, pair: str, split: str = "test", dataset: str | None = None, limit: int | None = None
) -> AlignedCorpus:
    """A catalog parallel corpus, word-aligned with the pair's MUSE dictionary (cached)."""
    from alignfreeze.align import DictionaryAligner, align_corpus
    from alignfreeze.data import read_muse

    src_lang, _, tgt_lang = pair.partition("-")
    pairs, _ = catalog.parallel_pairs(pair, split, dataset)
    pairs = pairs[:limit] if limit else pairs
    path = catalog.find("dictionary", pair, "full", allow_hub=False).files[0]
    return align_corpus(pairs, DictionaryAligner(read_muse(path), source=path.name), src_lang, tgt_lang)


def load_aligned_corpus(
    spec: str, catalog, split: str = "test", dataset: str | None = None, *, given_as: str = "spec"
) -> AlignedCorpus:
    """Word-aligned sentence pairs from an aligned-pairs file (``alignfreeze align``), or
    from a language pair of the data catalog (``en-fr``: its parallel ``dataset`` / ``split``,
    aligned with the pair's MUSE dictionary, cached). What ``--pairs`` accepts on the
    command line; ``given_as`` names ``spec`` in an error (the command line's option).

    Example::

        corpus = af.load_aligned_corpus("en-fr", af.DataCatalog(), split="test", dataset="un")
    """
    path = Path(spec).expanduser()
    if path.is_file():
        return AlignedCorpus.load(path)
    parts = spec.split("-")
    if len(parts) != 2 or not all(p.isalpha() for p in parts):
        raise AlignfreezeError(f"{given_as} {spec!r} is neither an aligned-pairs file nor a language pair like en-fr")
    return dictionary_aligned(catalog, spec, split, dataset)
