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
