"""Words -> subwords: the one mapping every task, aligner and loss uses.

Given pre-split words, a fast tokenizer is called with ``is_split_into_words=True`` and
its ``word_ids()`` say which word each subword belongs to. From that we derive, per word,
its subword span and the index of its *first subword* -- the vector the papers use for
word representations and the position that carries a word's tag.

The first subword skips a bare word-boundary piece. XLM-R's SentencePiece often encodes a
word as a lone ``▁`` followed by the content (``人`` -> ``▁``, ``人``): the ``▁`` vector is
shared by thousands of words and says nothing about this one, so the first subword is the
next piece of the same word. A word that is *only* a boundary piece keeps it. WordPiece
(BERT) and byte-level BPE have no such pieces and are unaffected.

A word that produced no subword (a stray control character, or one cut off by
truncation) gets ``first_subword = -1`` and an empty span; callers skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from alignfreeze.errors import AlignfreezeError

_BOUNDARY_MARKERS = ("▁", "Ġ", "##", "Ċ")


@dataclass(slots=True)
class WordSubwords:
    """Per-sentence mapping. Indices are token positions in the encoded sequence."""

    word_ids: list[int | None]  # one per token; None for special and padding tokens
    first_subword: list[int]  # one per word; -1 when the word has no token
    spans: list[tuple[int, int]]  # one per word: [start, end) token positions

    @property
    def n_words(self) -> int:
        return len(self.first_subword)


def _is_bare_marker(piece: str) -> bool:
    stripped = piece
    for marker in _BOUNDARY_MARKERS:
        stripped = stripped.replace(marker, "")
    return stripped == ""


def map_words(word_ids: Sequence[int | None], n_words: int, tokens: Sequence[str] | None = None) -> WordSubwords:
    """Build the mapping from a ``word_ids`` list (and the token strings, to detect bare
    boundary pieces; pass ``None`` to always take the first token of each word)."""
    starts = [-1] * n_words
    ends = [-1] * n_words
    for position, word in enumerate(word_ids):
        if word is None:
            continue
        if starts[word] < 0:
            starts[word] = position
        ends[word] = position + 1
    first = list(starts)
    if tokens is not None:
        for w in range(n_words):
            s, e = starts[w], ends[w]
            if s >= 0 and e - s > 1 and _is_bare_marker(tokens[s]):
                first[w] = s + 1
    spans = [(s, e) if s >= 0 else (0, 0) for s, e in zip(starts, ends)]
    return WordSubwords(list(word_ids), first, spans)


def encode_words(
    tokenizer,
    sentences: Sequence[Sequence[str]],
    max_length: int | None = None,
    pair: Sequence[Sequence[str]] | None = None,
    **kwargs,
):
    """Tokenise pre-split sentences; return ``(BatchEncoding, [WordSubwords, ...])``.

    ``max_length`` truncates (words past it get ``first_subword = -1``). ``pair`` encodes
    sentence pairs; the mapping then covers the first sequence only. Extra keyword
    arguments go to the tokenizer (``padding``, ``return_tensors``...).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise AlignfreezeError(
            f"{type(tokenizer).__name__} is a slow tokenizer; word-to-subword mapping needs a fast "
            "tokenizer (load it with use_fast=True)"
        )
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("encode_words takes lists of words; split sentences first (alignfreeze.data.split_words)")
    args = (list(map(list, sentences)),) if pair is None else (list(map(list, sentences)), list(map(list, pair)))
    encoding = tokenizer(
        *args,
        is_split_into_words=True,
        truncation=max_length is not None,
        max_length=max_length,
        **kwargs,
    )
    mappings = []
    for i, words in enumerate(sentences):
        word_ids = encoding.word_ids(i)
        if pair is not None:
            seq_ids = encoding.sequence_ids(i)
            word_ids = [w if s == 0 else None for w, s in zip(word_ids, seq_ids)]
        tokens = encoding.tokens(i)
        mappings.append(map_words(word_ids, len(words), tokens))
    return encoding, mappings
