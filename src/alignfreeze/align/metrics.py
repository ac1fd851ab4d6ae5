"""Alignment quality against a gold standard: precision, recall and AER.

Och & Ney (2003), with sure links S, possible links P (S ⊆ P) and predicted links A:
precision = |A ∩ P| / |A|, recall = |A ∩ S| / |S|,
AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|). Counts are summed over the corpus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

from alignfreeze.data.records import WordAlignment


@dataclass
class AlignmentScores:
    precision: float
    recall: float
    aer: float
    f1: float
    n_sentences: int
    n_predicted: int
    n_sure: int

    def as_dict(self) -> dict:
        return asdict(self)


def alignment_scores(gold: Sequence[WordAlignment], predicted: Sequence[Iterable[tuple[int, int]]]) -> AlignmentScores:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    a_total = s_total = a_and_s = a_and_p = 0
    for g, pred in zip(gold, predicted):
        a = set(pred)
        possible = g.possible | g.sure
        a_total += len(a)
        s_total += len(g.sure)
        a_and_s += len(a & g.sure)
        a_and_p += len(a & possible)
    precision = a_and_p / a_total if a_total else 0.0
    recall = a_and_s / s_total if s_total else 0.0
    aer = 1.0 - (a_and_s + a_and_p) / (a_total + s_total) if (a_total + s_total) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AlignmentScores(precision, recall, aer, f1, len(gold), a_total, s_total)


def score_alignment_file(
    gold, predicted, *, gold_one_based: bool = False, predicted_one_based: bool = False, sentences=None
) -> AlignmentScores:
    """Score a predicted alignment file against a gold one (Pharaoh, ``i-j`` sure and ``ipj``
    possible links): precision, recall, F1 and AER (Och & Ney, 2003). ``predicted`` is an
    aligned-pairs file from ``alignfreeze align`` (sentence pairs without a link are read as
    empty) or a Pharaoh file with one line per gold sentence.

    Every link must fit its sentence pair: the gold links are checked against the words of
    an aligned-pairs file, and gold and predicted links alike against ``sentences`` (the
    gold set's ``source ||| target`` file, tokenised), when given. A link past a sentence's
    end is a :class:`~alignfreeze.errors.DataFormatError` naming its file and line, numbered
    as the file numbers words. Pharaoh files alone carry no sentence lengths.

    Example::

        af.score_alignment_file("enfr.gold", "enfr.jsonl", gold_one_based=True).aer
    """
    from alignfreeze.align.corpus import AlignedCorpus
    from alignfreeze.data.parallel import read_parallel
    from alignfreeze.data.pharaoh import check_links_fit, link_past_end, read_pharaoh
    from alignfreeze.data.textfile import read_text
    from alignfreeze.errors import AlignfreezeError, DataFormatError

    gold_links = read_pharaoh(gold, one_based=gold_one_based)
    lengths = None
    if sentences is not None:
        lengths = [(len(p.src.split()), len(p.tgt.split())) for p in read_parallel(sentences)]
        if len(lengths) != len(gold_links):
            raise AlignfreezeError(f"{sentences} has {len(lengths)} sentence pairs but {gold} has {len(gold_links)}")
        check_links_fit(gold, gold_links, lengths, gold_one_based)
    if read_text(predicted).lstrip().startswith("{"):
        corpus = AlignedCorpus.load(predicted)
        links: list[list[tuple[int, int]]] = [[] for _ in gold_links]
        for p in corpus.pairs:
            if p.index >= len(gold_links):
                raise AlignfreezeError(
                    f"{predicted}: sentence pair {p.index} is beyond the {len(gold_links)} gold sentences"
                )
            problem = link_past_end(gold_links[p.index], len(p.src), len(p.tgt), gold_one_based)
            if problem:
                raise DataFormatError(gold, p.index + 1, f"{problem} of {predicted} (sentence pair {p.index})")
            links[p.index] = p.links
        if corpus.n_sentence_pairs != len(gold_links):
            raise AlignfreezeError(
                f"{predicted} aligns {corpus.n_sentence_pairs} sentence pairs but {gold} has {len(gold_links)}"
            )
    else:
        predicted_links = read_pharaoh(predicted, one_based=predicted_one_based)
        if len(predicted_links) != len(gold_links):
            raise AlignfreezeError(f"{predicted} has {len(predicted_links)} lines but {gold} has {len(gold_links)}")
        if lengths is not None:
            check_links_fit(predicted, predicted_links, lengths, predicted_one_based)
        links = [sorted(a.sure) for a in predicted_links]
    return alignment_scores(gold_links, links)
