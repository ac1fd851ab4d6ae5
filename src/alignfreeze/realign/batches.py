"""Batches of word-aligned sentence pairs for the contrastive loss.

Every sentence pair is tokenised once, up front (words -> subwords with
:func:`alignfreeze.data.encode_word_windows`, truncated to ``max_length`` subwords, lone
``▁`` pieces skipped or removed per :class:`~alignfreeze.data.subwords.TokenizationSettings`);
links to words lost to truncation are dropped, and pairs left without a link are skipped.

Two ways to fill a batch of ``batch_size`` sentence pairs (``batching``):

* ``by_pair`` (ours): all from one language pair, language pairs taken round-robin
  (batch b comes from pair b mod K), each language pair's data reshuffled with the run's
  seed whenever it runs out. With ``length_bucketing``, pairs of similar length are batched
  together (sorted within windows of 50 batches) so padding is small.
* ``mixed`` (the reference code's ``interleave_datasets``,
  ``multilingual_eval/datasets/realignment_task.py`` line 565, batched 16 at a time by a
  DataLoader): one sentence pair from each language pair in turn, so a batch mixes up to
  ``batch_size`` language pairs; when the smallest language pair runs out, the stream
  restarts for every pair with new shuffles. (The reference shuffled each pair through a
  10,000-example streaming buffer and replayed the same order on every restart; we
  reshuffle fully.)

A batch is padded dynamically to its longest sequence; sources and targets go through the
encoder as one batch of 2N sequences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.data.subwords import encode_word_windows
from alignfreeze.errors import AlignfreezeError


@dataclass(slots=True)
class EncodedPair:
    src_ids: list[int]
    tgt_ids: list[int]
    src_words: list[list[int]]  # per word: token positions of its vector (first subword, or all)
    tgt_words: list[list[int]]
    links: list[tuple[int, int]]

    def __len__(self) -> int:
        return max(len(self.src_ids), len(self.tgt_ids))


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
    links: torch.Tensor  # [k, 2] into the batch's source / target words
    language_pair: str

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
        ):
            tensor = getattr(self, name)
            setattr(self, name, tensor.pin_memory().to(device, non_blocking=True) if cuda else tensor.to(device))
        return self


def _positions(mapping, word_vector: str) -> list[list[int]]:
    if word_vector == "first":
        return [[f] if f >= 0 else [] for f in mapping.first_subword]
    return [list(range(s, e)) for s, e in mapping.spans]


def encode_corpus(
    corpus: AlignedCorpus,
    tokenizer,
    max_length: int = 96,
    word_vector: str = "first",
    lone_boundary_pieces: str = "skip",
    chunk: int = 512,
) -> list[EncodedPair]:
    out: list[EncodedPair] = []
    pairs = corpus.pairs
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        src = encode_word_windows(
            tokenizer, [p.src for p in part], max_length, lone_boundary_pieces=lone_boundary_pieces
        )
        tgt = encode_word_windows(
            tokenizer, [p.tgt for p in part], max_length, lone_boundary_pieces=lone_boundary_pieces
        )
        for k, p in enumerate(part):
            src_pos, tgt_pos = _positions(src[k].mapping, word_vector), _positions(tgt[k].mapping, word_vector)
            links = [(i, j) for i, j in p.links if src_pos[i] and tgt_pos[j]]
            if links:
                out.append(EncodedPair(src[k].input_ids, tgt[k].input_ids, src_pos, tgt_pos, links))
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
        [(src_off[b] + i, tgt_off[b] + j) for b, p in enumerate(pairs) for i, j in p.links], dtype=torch.long
    )
    return PairBatch(input_ids, attention_mask, si, sw, n_src, ti, tw, n_tgt, links, language_pair)


class RoundRobinBatches:
    """Endless iterator of :class:`PairBatch`, round-robin over language pairs: whole
    batches (``batching="by_pair"``) or single sentence pairs (``"mixed"``), see the
    module docstring."""

    def __init__(
        self,
        datasets: dict[str, list[EncodedPair]],
        batch_size: int,
        pad_id: int,
        seed: int = 0,
        length_bucketing: bool = False,
        batching: str = "by_pair",
    ):
        if batching not in ("by_pair", "mixed"):
            raise AlignfreezeError(f"unknown batching {batching!r} (allowed: by_pair, mixed)")
        empty = [name for name, data in datasets.items() if not data]
        if empty:
            raise AlignfreezeError(f"no usable aligned sentence pair for {', '.join(empty)} (after truncation)")
        if not datasets:
            raise AlignfreezeError("no aligned pairs given")
        self.datasets = datasets
        self.names = list(datasets)
        self.batch_size = batch_size
        self.pad_id = pad_id
        self.rng = random.Random(seed)
        self.length_bucketing = length_bucketing
        self.batching = batching
        self._queues: dict[str, list[list[int]]] = {name: [] for name in self.names}
        self._orders: dict[str, list[int]] = {name: [] for name in self.names}
        self._turn = 0

    def _refill(self, name: str) -> None:
        data = self.datasets[name]
        order = list(range(len(data)))
        self.rng.shuffle(order)
        if self.length_bucketing:
            window = self.batch_size * 50
            order = [
                i
                for w in range(0, len(order), window)
                for i in sorted(order[w : w + window], key=lambda i: len(data[i]))
            ]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.length_bucketing:
            self.rng.shuffle(batches)
        self._queues[name] = batches[::-1]  # pop() from the end

    def __iter__(self) -> Iterator[PairBatch]:
        return self

    def _restart_mixed(self) -> None:
        for name in self.names:
            order = list(range(len(self.datasets[name])))
            self.rng.shuffle(order)
            self._orders[name] = order[::-1]  # pop() from the end

    def _next_mixed(self) -> PairBatch:
        chosen = []
        while len(chosen) < self.batch_size:
            name = self.names[self._turn % len(self.names)]
            self._turn += 1
            if not self._orders[name]:  # the smallest language pair ran out: every pair starts over
                self._restart_mixed()
            chosen.append(self.datasets[name][self._orders[name].pop()])
        return collate(chosen, self.pad_id, "mixed")

    def __next__(self) -> PairBatch:
        if self.batching == "mixed":
            return self._next_mixed()
        name = self.names[self._turn % len(self.names)]
        self._turn += 1
        if not self._queues[name]:
            self._refill(name)
        indices = self._queues[name].pop()
        return collate([self.datasets[name][i] for i in indices], self.pad_id, name)
