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

The AlignFreeze reference code instead *removes* lone ``▁`` pieces from the input
(``multilingual_eval/datasets/label_alignment.py`` lines 59-63 for tagging,
``realignment_task.py`` lines 279-317 for realignment), so the model never sees them:
:class:`TokenizationSettings` chooses between the two, and :func:`encode_word_windows`
applies the choice (and, optionally, the reference's overflow windows for long sentences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field

from alignfreeze.errors import AlignfreezeError
from alignfreeze.schema import added_setting

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

    @property
    def last_subword(self) -> list[int]:
        """One per word: its last subword's position, -1 when the word has no token. In a
        causal LM it is the only one of the word's subwords that has seen the whole word."""
        return [e - 1 if f >= 0 else -1 for f, (_, e) in zip(self.first_subword, self.spans)]

    def label_positions(self, label_subword: str | None) -> list[int]:
        """One per word: the position its tag is trained on and read from
        (:attr:`TokenizationSettings.label_subword`; None: the first subword), -1 when the word
        has no token."""
        return self.last_subword if label_subword == "last" else self.first_subword

    def positions(self, word_vector: str) -> list[list[int]]:
        """Per word, the token positions its vector is made of (:data:`WORD_VECTORS`):
        ``first`` its first subword, ``last`` its last, ``mean`` all of them; ``[]`` for a
        word without a token."""
        if word_vector == "first":
            return [[f] if f >= 0 else [] for f in self.first_subword]
        if word_vector == "last":
            return [[t] if t >= 0 else [] for t in self.last_subword]
        if word_vector == "mean":
            return [list(range(s, e)) for s, e in self.spans]
        raise AlignfreezeError(f"unknown word vector {word_vector!r} (allowed: {', '.join(WORD_VECTORS)})")


#: A word's vector from its subwords' hidden states: its first subword (the papers', for an
#: encoder), its last (a causal LM's: the first has not seen the rest of the word), or the mean.
WORD_VECTORS = ("first", "last", "mean")


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


def _tokenize(tokenizer, sentences, max_length, pair=None, **kwargs):
    if not getattr(tokenizer, "is_fast", False):
        raise AlignfreezeError(
            f"{type(tokenizer).__name__} is a slow tokenizer; word-to-subword mapping needs a fast "
            "tokenizer (load it with use_fast=True)"
        )
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("encode_words takes lists of words; split sentences first (alignfreeze.data.split_words)")
    args = (list(map(list, sentences)),) if pair is None else (list(map(list, sentences)), list(map(list, pair)))
    return tokenizer(
        *args,
        is_split_into_words=True,
        truncation=max_length is not None,
        max_length=max_length,
        **kwargs,
    )


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
    encoding = _tokenize(tokenizer, sentences, max_length, pair, **kwargs)
    mappings = []
    for i, words in enumerate(sentences):
        word_ids = encoding.word_ids(i)
        if pair is not None:
            seq_ids = encoding.sequence_ids(i)
            word_ids = [w if s == 0 else None for w, s in zip(word_ids, seq_ids)]
        tokens = encoding.tokens(i)
        mappings.append(map_words(word_ids, len(words), tokens))
    return encoding, mappings


#: SentencePiece's word-boundary piece, as XLM-R's tokenizer spells it.
LONE_BOUNDARY_PIECE = "▁"


class TokenizationSettings(BaseModel):
    """How words become model inputs, for the word-level tasks (pos, ner) and realignment:
    what to do with XLM-R's lone ``▁`` pieces, which the AlignFreeze reference removes from
    the input (``protocol: reference``) and we skip over; and which words a pos or ner
    sentence is made of, in training and evaluation alike -- UD's multiword tokens, and
    WikiANN's Chinese characters, which the reference re-segments into words.

    Example::

        af.TokenizationSettings(lone_boundary_pieces="remove", multiword_tokens="keep_as_label")
    """

    model_config = ConfigDict(extra="forbid")
    lone_boundary_pieces: Literal["skip", "remove"] = Field(
        "skip",
        description="XLM-R's lone '▁' pieces: 'skip' keeps them in the input and gives the word's vector and label to "
        "its next piece; 'remove' deletes them from the input, as the AlignFreeze reference code does",
    )
    multiword_tokens: Literal["drop", "keep_as_label"] = added_setting(
        "drop",
        description="pos, UD's multiword tokens (a range line such as '1-2 du' over '1 de', '2 le'): 'drop' reads the "
        "syntactic words only; 'keep_as_label' also keeps each one's surface form, just before its words, tagged '_', "
        "an 18th label that is trained on and scored, as the datasets library's universal_dependencies loader gives "
        "them to the reference code. XTREME's udpos copy has no range lines: it reads the same either way",
    )
    label_subword: Optional[Literal["first", "last"]] = added_setting(
        None,
        description="pos, ner: the subword a word's tag is trained on and predicted at: 'first' (the papers', for an "
        "encoder, whose first subword has seen the whole sentence) or 'last' (in a causal LM the only one of the "
        "word's subwords that has seen the whole word). null: 'first' for an encoder, 'last' for a decoder (a run "
        "fills it in for a decoder before its id is hashed)",
    )
    zh_ner_segmentation: Literal["none", "jieba"] = added_setting(
        "none",
        description="ner, Chinese (zh) data, trained on or evaluated: 'none' keeps WikiANN's one token per character; "
        "'jieba' re-segments each sentence into jieba's words, a word split again where its characters' tags part "
        "(at a B- tag, or a change other than B-X to I-X), each piece tagged as its first character, as the reference "
        "code does with the Stanford segmenter (which jieba stands in for: README). Needs the zh extra",
    )


@dataclass(slots=True)
class WordWindow:
    """One model input built from one sentence (or one window of a long sentence)."""

    sentence: int  # index of the sentence in the input list
    input_ids: list[int]
    mapping: WordSubwords  # over all the sentence's words; -1 / empty for words outside this window


def encode_word_windows(
    tokenizer,
    sentences: Sequence[Sequence[str]],
    max_length: int,
    windows: bool = False,
    lone_boundary_pieces: str = "skip",
) -> list[WordWindow]:
    """Tokenise pre-split sentences into model inputs of at most ``max_length`` tokens.

    ``windows=False``: one input per sentence, truncated (words past the end get
    ``first_subword = -1``). ``windows=True``: a long sentence becomes several inputs, as
    the tokenizer's overflow splits it (no overlap), in order; a word cut by a window edge
    has a first subword in each window that holds a piece of it, as in the reference code.
    ``lone_boundary_pieces="remove"`` deletes lone ``▁`` pieces after tokenisation (so an
    input may end up shorter than ``max_length``).
    """
    if lone_boundary_pieces not in ("skip", "remove"):
        raise AlignfreezeError(f"lone_boundary_pieces {lone_boundary_pieces!r}: use skip or remove")
    if not sentences:
        return []
    encoding = _tokenize(tokenizer, sentences, max_length, return_overflowing_tokens=windows)
    origin = encoding["overflow_to_sample_mapping"] if windows else range(len(sentences))
    out = []
    for row, sentence in enumerate(origin):
        ids, word_ids, tokens = list(encoding["input_ids"][row]), encoding.word_ids(row), encoding.tokens(row)
        if lone_boundary_pieces == "remove":
            keep = [k for k, token in enumerate(tokens) if token != LONE_BOUNDARY_PIECE]
            ids, word_ids, tokens = [ids[k] for k in keep], [word_ids[k] for k in keep], [tokens[k] for k in keep]
        out.append(WordWindow(int(sentence), ids, map_words(word_ids, len(sentences[sentence]), tokens)))
    return out
