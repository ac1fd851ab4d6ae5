"""The realignment stream: line-indexed files, lazy alignment a chunk at a time, the two
samplings (uniform; the reference's shuffle buffer, replayed at each restart) and the two
batchings, on hand-made examples whose orders are worked out in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from alignfreeze.align.config import parse_aligner
from alignfreeze.align.corpus import AlignedCorpus, AlignedPair
from alignfreeze.align.sources import AlignedFile
from alignfreeze.data.line_index import LineIndex
from alignfreeze.data.parallel import ParallelFile, read_parallel
from alignfreeze.errors import AlignfreezeError, DataFormatError
from alignfreeze.realign import RealignConfig, RealignmentObjective, realign
from alignfreeze.realign.batches import EncodedPair
from alignfreeze.realign.stream import PairStream, RealignmentBatches, shuffle_buffer_order
from conftest import write
from tiny_models import tiny_model

# --------------------------------------------------------------------------- line index


def test_line_index_reads_any_line_as_read_parallel_does(tmp_path):
    path = write(tmp_path / "a.txt", "\ufefffirst\r\nsecond\n\nfourth\n")
    index = LineIndex(path, use_cache=False)
    assert len(index) == 4  # the final newline ends the last line, no empty fifth one
    assert index.lines([3, 0, 2, 1]) == ["fourth", "first", "", "second"]
    no_final_newline = LineIndex(write(tmp_path / "b.txt", "x\ny"), use_cache=False)
    assert len(no_final_newline) == 2 and no_final_newline.lines([1]) == ["y"]


def test_line_index_errors_name_file_and_line(tmp_path):
    index = LineIndex(write(tmp_path / "bad.txt", b"ok\n\xff\xfe\n"), use_cache=False)
    with pytest.raises(DataFormatError, match=r"bad.txt:2"):
        index.lines([1])
    with pytest.raises(DataFormatError, match="empty"):
        LineIndex(write(tmp_path / "empty.txt", ""))


def test_parallel_file_matches_read_parallel(tmp_path):
    src = write(tmp_path / "c.en", "a cat\nthe dog\nmy house\n")
    tgt = write(tmp_path / "c.fr", "un chat\nle chien\nma maison\n")
    whole = read_parallel(src, tgt)
    lazy = ParallelFile(src, tgt)
    assert len(lazy) == 3 and lazy.pairs([2, 0]) == [whole[2], whole[0]]
    joined = ParallelFile(write(tmp_path / "j.txt", "a cat ||| un chat\nno separator\n"))
    assert joined.pairs([0])[0].tgt == "un chat"
    with pytest.raises(DataFormatError, match=r"j.txt:2"):
        joined.pairs([1])
    with pytest.raises(DataFormatError, match="differ in length"):
        ParallelFile(src, write(tmp_path / "short.fr", "un chat\n"))


# --------------------------------------------------------------------------- shuffle buffer


def test_shuffle_buffer_is_the_datasets_2_4_algorithm():
    # default_rng(0).integers(0, 2, 1000) starts 1, 1, 1, 0, 0. Buffer of 2: [a, b]; c comes:
    # index 1 -> yield b, buffer [a, c]; the end: the generator shuffles [a, c] -> [c, a].
    assert np.random.default_rng(0).integers(0, 2, size=1000)[:5].tolist() == [1, 1, 1, 0, 0]
    assert list(shuffle_buffer_order("abc", 2, seed=0)) == ["b", "c", "a"]
    # Fewer items than the buffer: no index is drawn, the generator shuffles them all.
    assert sorted(shuffle_buffer_order("ab", 5, seed=0)) == ["a", "b"]
    assert list(shuffle_buffer_order("abcdef", 3, seed=7)) == list(shuffle_buffer_order("abcdef", 3, seed=7))


# --------------------------------------------------------------------------- batches


def encoded(tag: int, n: int) -> list[EncodedPair]:
    return [
        EncodedPair([0, tag * 100 + i, 2], [0, tag * 100 + i, 2], [[1]], [[1]], [(0, 0)], index=i) for i in range(n)
    ]


def streams(sizes: dict[str, int], sampling: str = "shuffle_buffer", buffer: int = 1) -> list[PairStream]:
    # A buffer of one keeps file order, so the orders below can be worked out by hand.
    return [
        PairStream(
            name,
            n,
            lambda lines, data=encoded(tag, n): [data[i] for i in lines],
            lambda pairs: pairs,
            chunk=2,
            sampling=sampling,
            shuffle_buffer=buffer,
            seed=0,
            position=tag,
        )
        for tag, (name, n) in enumerate(sizes.items(), start=1)
    ]


def drawn(batch) -> list[int]:
    n = batch.input_ids.shape[0] // 2
    return [int(row[1]) for row in batch.input_ids[:n]]


def test_mixed_stream_stops_at_the_first_exhausted_pair_and_replays():
    # Three language pairs of 2, 4 and 3 sentence pairs, one from each in turn: a0 b0 c0 a1
    # b1 c1, then it is a's turn and a has nothing left: the epoch ends there (datasets 2.4),
    # with a short batch of 2 (6 = 4 + 2), and every pair starts over in the same order.
    batches = RealignmentBatches(streams({"a": 2, "b": 4, "c": 3}), batch_size=4, pad_id=1, batching="mixed")
    first, second, third = next(batches), next(batches), next(batches)
    assert drawn(first) == [100, 200, 300, 101] and first.language_pair == "mixed"
    assert drawn(second) == [201, 301]  # the short batch that ends the epoch
    assert drawn(third) == [100, 200, 300, 101]  # replayed: the reference re-created its iterator
    summary = batches.summary()
    assert summary["drawn"] == 10 and summary["distinct"] == 6 and summary["restarts"] == 1
    assert summary["per_language"]["b"] == {"lines": 4, "drawn": 3, "distinct": 2}


def test_mixed_epoch_ending_on_a_batch_boundary_gives_no_empty_batch():
    # a0 b0 a1 b1 fill the batch; then a is exhausted: the next batch starts a new epoch.
    batches = RealignmentBatches(streams({"a": 2, "b": 2}), batch_size=4, pad_id=1, batching="mixed")
    assert drawn(next(batches)) == [100, 200, 101, 201]
    assert drawn(next(batches)) == [100, 200, 101, 201]


def test_by_pair_batches_stay_one_language_pair_with_a_short_last_batch():
    batches = RealignmentBatches(streams({"a": 3, "b": 4}), batch_size=2, pad_id=1)
    got = [(b.language_pair, drawn(b)) for b in (next(batches) for _ in range(6))]
    assert got == [
        ("a", [100, 101]),
        ("b", [200, 201]),
        ("a", [102]),  # a's epoch ends with a short batch
        ("b", [202, 203]),
        ("a", [100, 101]),  # a's next epoch
        ("b", [200, 201]),
    ]


def test_uniform_sampling_draws_a_new_permutation_each_epoch():
    (stream,) = streams({"a": 50}, sampling="uniform")
    first, second = [p.index for p in stream.epoch(0)], [p.index for p in stream.epoch(1)]
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))
    assert first == [p.index for p in stream.epoch(0)]  # seeded: the same run draws the same


def test_a_stream_without_usable_pairs_is_an_error():
    unusable = PairStream("en-xx", 3, lambda lines: [], lambda pairs: pairs, chunk=2)
    with pytest.raises(AlignfreezeError, match="no usable aligned sentence pair for en-xx"):
        next(RealignmentBatches([unusable], batch_size=2, pad_id=1))


# --------------------------------------------------------------------------- lazy alignment


def dictionary_corpus(tmp_path, n_lines: int) -> tuple[ParallelFile, object]:
    words = [("cat", "chat"), ("dog", "chien"), ("house", "maison"), ("bread", "pain")]
    src = "\n".join(f"the {words[i % 4][0]} number {i}" for i in range(n_lines)) + "\n"
    tgt = "\n".join(f"le {words[i % 4][1]} numéro {i}" for i in range(n_lines)) + "\n"
    muse = write(tmp_path / "en-fr.txt", "".join(f"{f} @ {e}\n" for e, f in words))
    parallel = ParallelFile(write(tmp_path / "p.en", src), write(tmp_path / "p.fr", tgt))
    return parallel, parse_aligner({"name": "dictionary", "dictionary": str(muse)})


def test_aligned_file_aligns_only_the_chunks_drawn(tmp_path, xlmr_tokenizer, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    parallel, aligner = dictionary_corpus(tmp_path, 5000)
    source = AlignedFile(parallel, "en", "fr", aligner)
    assert len(source) == 5000 and source.chunk_pairs == 1024
    pairs = source.aligned([4999, 7])
    assert [p.index for p in pairs] == [4999, 7] and pairs[0].src[-1] == "4999"
    source.lines_aligned = 0
    result = realign(
        tiny_model(layers=2),
        xlmr_tokenizer,
        [source],
        RealignConfig(steps=3, batch_size=4, learning_rate=1e-3),
        progress=False,
    )
    assert source.lines_aligned == 1024  # one chunk of the 5,000 lines, not the corpus
    assert result.drawn["drawn"] == 12 and result.drawn["distinct"] == 12
    assert len(result.sentences) == 24  # both sides of each pair drawn
    limited = AlignedFile(parallel, "en", "fr", aligner, limit=10)
    assert len(limited) == 10


def test_reference_sampling_reads_the_file_in_order_through_the_buffer(tmp_path, xlmr_tokenizer, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    parallel, aligner = dictionary_corpus(tmp_path, 3000)
    source = AlignedFile(parallel, "en", "fr", aligner)
    config = RealignConfig(steps=1, batch_size=8, sampling="shuffle_buffer", shuffle_buffer=100)
    objective = RealignmentObjective(tiny_model(layers=2), xlmr_tokenizer, [source], config, seed=3)
    for _ in range(5):
        next(objective.batches)
    lines = sorted(objective.batches.seen()["en-fr"])
    # A buffer of 100 over the file in order: 40 draws come from the first 140 lines.
    assert len(lines) == 40 and max(lines) < 140
    assert source.lines_aligned == 1024  # the buffer filled from the first chunk


def test_in_memory_corpora_still_realign(xlmr_tokenizer):
    pairs = [AlignedPair(i, ["a", "cat", str(i)], ["un", "chat", str(i)], [(1, 1)]) for i in range(6)]
    corpus = AlignedCorpus("en", "fr", pairs, "test", {}, 6)
    result = realign(
        tiny_model(layers=2), xlmr_tokenizer, [corpus], RealignConfig(steps=2, batch_size=4), progress=False
    )
    assert result.pairs_per_language == {"en-fr": 6} and result.drawn["drawn"] == 6  # 4, then the short 2
