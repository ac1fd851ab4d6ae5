"""Batches of word-aligned sentence pairs for the contrastive loss.

Sentence pairs are tokenised as they are drawn, a chunk at a time (words -> subwords with
:func:`alignfreeze.data.encode_word_windows`, truncated to ``max_length`` subwords, lone
``▁`` pieces skipped or removed per :class:`~alignfreeze.data.subwords.TokenizationSettings`);
links to words lost to truncation are dropped, and a pair left without a link is not used.
Which pairs are drawn, and how they are grouped into batches, is
:mod:`alignfreeze.realign.stream`'s business.

A batch is padded dynamically to its longest sequence; sources and targets go through the
encoder as one batch of 2N sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
from alignfreeze.data.subwords import encode_word_windows


@dataclass(slots=True)
class EncodedPair:
    src_ids: list[int]
    tgt_ids: list[int]
    src_words: list[list[int]]  # per word: token positions of its vector (first or last subword, or all)
    tgt_words: list[list[int]]
    # Empty when truncation removed every linked word: the pair is not used. None: an
    # unaligned pair, for an objective that needs no links (contrastive_sentence).
    links: list[tuple[int, int]] | None
    index: int = -1  # the pair's line in its corpus
    fingerprints: tuple[str, ...] = ()  # of both sentences (alignfreeze.data.fingerprints)

    def __len__(self) -> int:
        return max(len(self.src_ids), len(self.tgt_ids))

    @property
    def usable(self) -> bool:
        """A linked pair with a link left after truncation; an unaligned pair with a word
        left on each side (the reference's filter on both lengths)."""
        if self.links is None:
            return any(self.src_words) and any(self.tgt_words)
        return bool(self.links)


@dataclass
class PairBatch:
    input_ids: torch.Tensor  # [2N, T]: N sources then N targets
    attention_mask: torch.Tensor
    src_token_index: torch.Tensor  # flat (row * T + position) per source word token
    src_token_word: torch.Tensor  # which source word each of those tokens belongs to
    n_src_words: int
    tgt_token_index: torch.Tensor
    tgt_token_word: torch.Tensor
    n_tgt_words: int
    links: torch.Tensor  # [k, 2] into the batch's source / target words ([0, 2] for unaligned pairs)
    language_pair: str
    #: [2N]: the words of each row that kept a subword (the reference's sentence "length").
    row_words: torch.Tensor | None = None

    def to(self, device) -> "PairBatch":
        # From pinned memory the copies to a GPU overlap with its work (no effect on a CPU).
        cuda = getattr(device, "type", str(device)).startswith("cuda")
        for name in (
            "input_ids",
            "attention_mask",
            "src_token_index",
            "src_token_word",
            "tgt_token_index",
            "tgt_token_word",
            "links",
            "row_words",
        ):
            tensor = getattr(self, name)
            if tensor is None:
                continue
            setattr(self, name, tensor.pin_memory().to(device, non_blocking=True) if cuda else tensor.to(device))
        return self


def _positions(mapping, word_vector: str) -> list[list[int]]:
    return mapping.positions(word_vector)


def encode_pairs(
    pairs: Sequence[AlignedPair],
    tokenizer,
    max_length: int = 96,
    word_vector: str = "first",
    lone_boundary_pieces: str = "skip",
    linked: bool = True,
) -> list[EncodedPair]:
    """One :class:`EncodedPair` per aligned pair, in order; a pair whose linked words were all
    truncated away keeps an empty ``links`` (the stream skips it where the reference's filter did).
    ``linked`` False: the pairs' links are not used (``links`` None), for an objective that
    needs none."""
    from alignfreeze.data.fingerprints import sentence_fingerprint

    if not pairs:
        return []
    src = encode_word_windows(tokenizer, [p.src for p in pairs], max_length, lone_boundary_pieces=lone_boundary_pieces)
    tgt = encode_word_windows(tokenizer, [p.tgt for p in pairs], max_length, lone_boundary_pieces=lone_boundary_pieces)
    out = []
    for k, p in enumerate(pairs):
        src_pos, tgt_pos = _positions(src[k].mapping, word_vector), _positions(tgt[k].mapping, word_vector)
        links = [(i, j) for i, j in p.links if src_pos[i] and tgt_pos[j]] if linked else None
        fingerprints = (sentence_fingerprint(p.src), sentence_fingerprint(p.tgt))
        out.append(EncodedPair(src[k].input_ids, tgt[k].input_ids, src_pos, tgt_pos, links, p.index, fingerprints))
    return out


def encode_corpus(
    corpus: AlignedCorpus,
    tokenizer,
    max_length: int = 96,
    word_vector: str = "first",
    lone_boundary_pieces: str = "skip",
    chunk: int = 512,
) -> list[EncodedPair]:
    """The usable pairs of a whole corpus in memory (benchmarks and tests; runs stream)."""
    out: list[EncodedPair] = []
    for start in range(0, len(corpus.pairs), chunk):
        part = corpus.pairs[start : start + chunk]
        out += [p for p in encode_pairs(part, tokenizer, max_length, word_vector, lone_boundary_pieces) if p.links]
    return out


def pad_ids(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)``, right-padded to the longest sequence."""
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, s in enumerate(sequences):
        input_ids[row, : len(s)] = torch.tensor(s)
        attention_mask[row, : len(s)] = 1
    return input_ids, attention_mask


def collate(pairs: Sequence[EncodedPair], pad_id: int, language_pair: str) -> PairBatch:
    n = len(pairs)
    input_ids, attention_mask = pad_ids([p.src_ids for p in pairs] + [p.tgt_ids for p in pairs], pad_id)
    width = input_ids.shape[1]

    def gather(side: str, row_offset: int):
        token_index, token_word, word_offset, offsets = [], [], 0, []
        for b, p in enumerate(pairs):
            words = p.src_words if side == "src" else p.tgt_words
            offsets.append(word_offset)
            for w, positions in enumerate(words):
                for pos in positions:
                    token_index.append((row_offset + b) * width + pos)
                    token_word.append(word_offset + w)
            word_offset += len(words)
        return torch.tensor(token_index), torch.tensor(token_word), word_offset, offsets

    si, sw, n_src, src_off = gather("src", 0)
    ti, tw, n_tgt, tgt_off = gather("tgt", n)
    links = torch.tensor(
        [(src_off[b] + i, tgt_off[b] + j) for b, p in enumerate(pairs) for i, j in p.links or ()], dtype=torch.long
    ).reshape(-1, 2)
    row_words = torch.tensor(
        [sum(1 for w in p.src_words if w) for p in pairs] + [sum(1 for w in p.tgt_words if w) for p in pairs]
    )
    return PairBatch(input_ids, attention_mask, si, sw, n_src, ti, tw, n_tgt, links, language_pair, row_words)
