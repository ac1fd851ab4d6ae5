"""The realignment stream: which sentence pairs realignment draws, in which order, and how
they are grouped into batches -- read, aligned and encoded lazily, a chunk at a time.

Nothing here holds a whole corpus. Each language pair is a :class:`PairStream` over a
:class:`~alignfreeze.align.sources.PairSource` (lines of a parallel file, aligned when
first drawn); memory and the time to the first step depend on the chunk and buffer sizes,
not on the corpus (``bench/realign_data_bench.py`` measures it).

**Sampling** (``realignment.sampling``), per language pair, in *epochs*:

* ``uniform`` (ours): a random permutation of every line of the corpus (seeded by the run's
  seed, the language pair and the epoch), drawn a chunk of lines at a time; a new
  permutation each epoch. Every sentence pair is equally likely, however large the file.
* ``shuffle_buffer`` (the reference's, ``multilingual_eval/datasets/realignment_task.py``
  lines 453-455: ``IterableDataset.shuffle(seed=seed, buffer_size=10_000)`` over the
  aligned file): the linked pairs in file order through a buffer of ``shuffle_buffer``
  pairs, with the datasets library's algorithm (:func:`shuffle_buffer_order`). Each epoch
  replays the same order: the reference re-created its iterator with the same seed
  (``multilingual_eval/training/utils.py`` ``get_next_or_restart``, lines 6-19). Only the
  first pairs of a large file are ever drawn, the ones the buffer reaches.

A pair whose linked words are all truncated away is skipped after sampling, as the
reference's ``filter`` after its ``map`` did (``realignment_task.py`` lines 460-462).

**Batching** (``realignment.batching``):

* ``by_pair`` (ours): each batch from one language pair, language pairs in turn; a pair's
  epoch ends with a short batch and the next starts on its next turn. With
  ``length_bucketing``, windows of 50 batches are sorted by length, cut into batches and
  the batches shuffled, so padding is small.
* ``mixed`` (the reference's ``interleave_datasets``, ``realignment_task.py`` line 565):
  one pair from each language pair in turn. The epoch ends for every language pair at the
  turn of the first one with nothing left (``CyclingMultiSourcesExamplesIterable`` of
  datasets 2.4.0, the version the reference pinned in ``scripts/2023_acl/requirements.txt``;
  later versions stop one round earlier), with a short batch (a DataLoader's last), and
  all start over.

**Weighted sampling** (``realignment.language_weighting``, :mod:`alignfreeze.realign.weighting`):
with ``by_pair``, the language pair of each batch is drawn from the weighting's
probabilities instead of taken in turn; :meth:`RealignmentBatches.observe` reports each
batch's loss back to it.

**Counts.** :attr:`RealignmentBatches.drawn` counts the sentence pairs drawn and
:meth:`RealignmentBatches.summary` the distinct ones, to compare with the released
``distinct_realignment_samples`` (the pairs the reference drew before its first restart,
``multilingual_eval/training/epoch_loop.py`` lines 104-117: with replayed epochs, the same
number).
"""

from __future__ import annotations

import itertools
import random
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from alignfreeze.data.fingerprints import SentenceSet
from alignfreeze.errors import AlignfreezeError
from alignfreeze.realign.batches import EncodedPair, PairBatch, collate
from alignfreeze.realign.weighting import LanguageWeights

T = TypeVar("T")
SAMPLINGS = ("uniform", "shuffle_buffer")
BATCHINGS = ("by_pair", "mixed")
#: Batches sorted together by ``length_bucketing``.
BUCKET_BATCHES = 50
#: Pairs tokenised together as they leave a shuffle buffer.
ENCODE_GROUP = 64


def shuffle_buffer_order(items: Iterable[T], buffer_size: int, seed: int) -> Iterator[T]:
    """``items`` through a shuffle buffer, exactly as the datasets library's
    ``BufferShuffledExamplesIterable`` did in version 2.4.0, the reference's
    (``datasets/iterable_dataset.py`` lines 513-539 there; later versions changed the algorithm): fill the buffer
    with the first ``buffer_size`` items; then for each further item, yield the buffer entry
    at a random index (numpy's ``default_rng(seed)``, drawn 1,000 at a time) and put the new
    item in its place; at the end, shuffle what is left with the same generator and yield it.

    Example::

        list(af.shuffle_buffer_order(range(5), buffer_size=2, seed=0))
    """
    rng = np.random.default_rng(seed)

    def random_indices() -> Iterator[int]:
        while True:
            yield from (int(i) for i in rng.integers(0, buffer_size, size=1000))

    indices = random_indices()
    buffer: list[T] = []
    for item in items:
        if len(buffer) == buffer_size:
            i = next(indices)
            yield buffer[i]
            buffer[i] = item
        else:
            buffer.append(item)
    rng.shuffle(buffer)
    yield from buffer


class PairStream:
    """The sentence pairs of one language pair, epoch by epoch, lazily (see the module docstring).

    Args:
        name: the language pair as batches name it (``en-fr``).
        n_lines: lines in the corpus.
        align: line numbers -> the linked pairs among them, in order (read and aligned on
            demand: :meth:`~alignfreeze.align.sources.PairSource.aligned`).
        encode: linked pairs -> :class:`EncodedPair` (tokenised), in order.
        chunk: lines aligned together.
        sampling, shuffle_buffer, seed: the sampling.
        position: the stream's place among the run's language pairs (seeds its permutations).
    """

    def __init__(
        self,
        name: str,
        n_lines: int,
        align: Callable[[Sequence[int]], list],
        encode: Callable[[list], list[EncodedPair]],
        chunk: int,
        sampling: str = "uniform",
        shuffle_buffer: int = 10_000,
        seed: int = 0,
        position: int = 0,
    ):
        if sampling not in SAMPLINGS:
            raise AlignfreezeError(f"unknown sampling {sampling!r} (allowed: {', '.join(SAMPLINGS)})")
        self.name, self.n_lines, self.align, self.encode = name, n_lines, align, encode
        self.chunk = max(1, int(chunk))
        self.sampling, self.shuffle_buffer, self.seed, self.position = sampling, shuffle_buffer, seed, position

    def epoch(self, number: int) -> Iterator[EncodedPair]:
        """The usable pairs of epoch ``number`` (0, 1, ...), in the order they are drawn."""
        if self.sampling == "uniform":
            order = np.random.default_rng([self.seed, self.position, number]).permutation(self.n_lines)
            for start in range(0, self.n_lines, self.chunk):
                yield from (p for p in self.encode(self.align(order[start : start + self.chunk].tolist())) if p.usable)
            return
        # The same order every epoch (the reference re-created its iterator with the same
        # seed). Tokenised after the buffer, as the reference's map came after its shuffle:
        # filling the buffer costs alignment only.
        linked = (
            p
            for start in range(0, self.n_lines, self.chunk)
            for p in self.align(range(start, min(self.n_lines, start + self.chunk)))
        )
        shuffled = shuffle_buffer_order(linked, self.shuffle_buffer, self.seed)
        while group := list(itertools.islice(shuffled, ENCODE_GROUP)):
            yield from (p for p in self.encode(group) if p.usable)


class _Peekable:
    """An iterator that can say whether it has a next item."""

    _EMPTY = object()

    def __init__(self, iterator: Iterator):
        self.iterator = iterator
        self._next = self._EMPTY

    def has_next(self) -> bool:
        if self._next is self._EMPTY:
            self._next = next(self.iterator, self._EMPTY)
        return self._next is not self._EMPTY

    def __next__(self):
        if not self.has_next():
            raise StopIteration
        item, self._next = self._next, self._EMPTY
        return item


class RealignmentBatches:
    """Endless iterator of :class:`PairBatch` over the run's language pairs (see the module
    docstring), counting what it draws.

    Example::

        batches = RealignmentBatches(streams, batch_size=16, pad_id=1, batching="mixed")
        batch = next(batches)
        batches.summary()["distinct"]
    """

    def __init__(
        self,
        streams: Sequence[PairStream],
        batch_size: int,
        pad_id: int,
        seed: int = 0,
        length_bucketing: bool = False,
        batching: str = "by_pair",
        weighting: LanguageWeights | None = None,
    ):
        if batching not in BATCHINGS:
            raise AlignfreezeError(f"unknown batching {batching!r} (allowed: {', '.join(BATCHINGS)})")
        if not streams:
            raise AlignfreezeError("no aligned pairs given")
        self.streams = list(streams)
        self.batch_size, self.pad_id = batch_size, pad_id
        self.length_bucketing, self.batching = length_bucketing, batching
        self.rng = random.Random(seed)
        n = len(self.streams)
        self._epochs = [0] * n  # by_pair: each stream's epoch; mixed: all share _epochs[0]
        self._iterators: list[_Peekable | None] = [None] * n
        self._queues: list[list[list[EncodedPair]]] = [[] for _ in range(n)]
        self._turn = 0
        self._seen: list[set[int]] = [set() for _ in range(n)]
        self.drawn = [0] * n
        self.restarts = 0
        self.sentences = SentenceSet()
        #: Draws the language pair of each by_pair batch (None: in turn).
        self.weighting = weighting
        self._weight_rng = np.random.default_rng([seed, 2])
        self._index = {s.name: k for k, s in enumerate(self.streams)}

    def __iter__(self) -> Iterator[PairBatch]:
        return self

    def _start_epoch(self, k: int, number: int) -> _Peekable:
        iterator = _Peekable(self.streams[k].epoch(number))
        if not iterator.has_next():
            raise AlignfreezeError(
                f"no usable aligned sentence pair for {self.streams[k].name} (none linked, or all lost to truncation)"
            )
        return iterator

    def _record(self, k: int, pairs: Sequence[EncodedPair]) -> None:
        self.drawn[k] += len(pairs)
        self._seen[k].update(p.index for p in pairs)
        for p in pairs:
            self.sentences.fingerprints.update(p.fingerprints)

    def _take(self, k: int, n: int) -> tuple[list[EncodedPair], bool]:
        """Up to ``n`` pairs of stream ``k``'s current epoch, and whether the epoch ended."""
        if self._iterators[k] is None:
            self._iterators[k] = self._start_epoch(k, self._epochs[k])
        iterator = self._iterators[k]
        out = []
        while len(out) < n and iterator.has_next():
            out.append(next(iterator))
        if not iterator.has_next():
            self._iterators[k] = None
            self._epochs[k] += 1
            self.restarts += 1
            return out, True
        return out, False

    def _next_by_pair(self) -> PairBatch:
        if self.weighting is None:
            k = self._turn % len(self.streams)
            self._turn += 1
        else:
            k = int(self._weight_rng.choice(len(self.streams), p=self.weighting.probabilities()))
        return self._batch_of(k)

    def _batch_of(self, k: int) -> PairBatch:
        """The next batch of language pair ``k``."""
        if not self.length_bucketing:
            pairs, _ = self._take(k, self.batch_size)
        else:
            if not self._queues[k]:
                window, _ = self._take(k, self.batch_size * BUCKET_BATCHES)
                window.sort(key=len)
                batches = [window[i : i + self.batch_size] for i in range(0, len(window), self.batch_size)]
                self.rng.shuffle(batches)
                self._queues[k] = batches
            pairs = self._queues[k].pop()
        self._record(k, pairs)
        return collate(pairs, self.pad_id, self.streams[k].name)

    def _next_mixed(self) -> PairBatch:
        n = len(self.streams)
        chosen: list[EncodedPair] = []
        while len(chosen) < self.batch_size:
            if any(it is None for it in self._iterators):  # a new epoch, for every language pair
                self._iterators = [self._start_epoch(k, self._epochs[0]) for k in range(n)]
                self._turn = 0
            k = self._turn % n
            if not self._iterators[k].has_next():
                # The epoch ends at the turn of the first language pair with nothing left
                # (datasets 2.4's interleave_datasets, which the reference pinned), with a
                # short batch (a DataLoader's last); an empty one is not a batch: go on.
                self._iterators = [None] * n
                self._epochs[0] += 1
                self.restarts += 1
                if chosen:
                    break
                continue
            self._turn += 1
            pair = next(self._iterators[k])
            self._record(k, [pair])
            chosen.append(pair)
        return collate(chosen, self.pad_id, "mixed")

    def __next__(self) -> PairBatch:
        return self._next_mixed() if self.batching == "mixed" else self._next_by_pair()

    def observe(self, language_pair: str, loss) -> None:
        """The loss of a batch of ``language_pair``, for the weighting (nothing without one,
        or for a mixed batch)."""
        if self.weighting is not None and language_pair in self._index:
            self.weighting.observe(self._index[language_pair], loss)

    def learn_weights(self, batch_loss, batches: int) -> None:
        """Phase 1 of a weighting learned before realignment (``meta``): ``batches`` batches
        drawn and scored with ``batch_loss(batch)``, the model not trained. Nothing for the others."""
        if self.weighting is not None and self.weighting.learns_first:
            self.weighting.learn(self._batch_of, batch_loss, batches)

    def seen(self) -> dict[str, set[int]]:
        """The lines drawn so far, per language pair."""
        return {s.name: set(seen) for s, seen in zip(self.streams, self._seen)}

    def summary(self) -> dict:
        """Sentence pairs drawn and distinct, in total and per language pair, and epoch restarts."""
        return {
            "drawn": sum(self.drawn),
            "distinct": sum(len(s) for s in self._seen),
            "restarts": self.restarts,
            "per_language": {
                s.name: {"lines": s.n_lines, "drawn": d, "distinct": len(seen)}
                for s, d, seen in zip(self.streams, self.drawn, self._seen)
            },
        }
