"""Task metrics. Values are fractions in 0..1 everywhere (results, reports).

* PoS: word accuracy.
* NER: entity-level precision/recall/F1 with ``seqeval`` (CoNLL evaluation, used directly)
  and word accuracy (what the AlignFreeze table reports).
* NLI: accuracy.
* QA: exact match and token F1 computed the SQuAD v1.1 way (maximum over the gold answers,
  averaged over questions), after a multilingual answer normalisation in the manner of the
  MLQA evaluation script: lower-case, strip punctuation (every Unicode ``P*`` character),
  remove articles for languages that have them, and split into tokens on whitespace --
  except that characters of scripts written without spaces (Han, Kana, Thai...) are
  tokens of their own, so Chinese answers are scored per character like MLQA's "mixed
  segmentation" and not as one giant token. That makes every target language scored like
  English; the per-language article lists are MLQA's.

Two scorers of the AlignFreeze reference code are available for like-for-like comparisons
with its released numbers: :func:`repair_bio` (its NER post-processing, after Wu & Dredze)
and :func:`reference_qa_scores` (its XQuAD EM/F1).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from typing import Sequence

from alignfreeze.data.words import NO_SPACE_CHAR

PUNCTUATION = frozenset(
    chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")
) | frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "ar": r"\sال^|ال",
}


def accuracy(gold: Sequence, predicted: Sequence) -> float:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0


def ner_scores(gold: list[list[str]], predicted: list[list[str]], repair: bool = False) -> dict[str, float]:
    """Entity P/R/F1 (seqeval, default CoNLL chunking) and word accuracy over sequences;
    ``repair`` applies :func:`repair_bio` to the predictions first."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    if repair:
        predicted = [repair_bio(p) for p in predicted]
    flat_gold = [t for s in gold for t in s]
    flat_pred = [t for s in predicted for t in s]
    return {
        "f1": float(f1_score(gold, predicted)),
        "precision": float(precision_score(gold, predicted)),
        "recall": float(recall_score(gold, predicted)),
        "accuracy": accuracy(flat_gold, flat_pred),
    }


def repair_bio(tags: Sequence[str]) -> list[str]:
    """The reference code's BIO post-processing of predicted tags
    (``multilingual_eval/datasets/wikiann_ner.py`` lines 79-108):

    1. an ``I-X`` that starts the sequence or follows an ``O`` (in the original tags)
       becomes ``B-X``;
    2. read right to left, a run of tags of mixed types takes the type of its last ``I-``
       tag (``B-X I-Y I-Z`` -> ``B-Z I-Z I-Z``); an ``O``, or a ``B-`` that had to be
       changed, ends the run.
    """
    out = []
    previous = None
    for tag in tags:
        out.append(f"B-{tag[2:]}" if tag[0] == "I" and previous in (None, "O") else tag)
        previous = tag
    current = None
    for i in range(len(out) - 1, -1, -1):
        tag = out[i]
        if current is None and tag[0] == "I":
            current = tag[2:]
        elif tag == "O":
            current = None
        elif current is not None and tag[2:] != current:
            out[i] = f"{tag[0]}-{current}"
            if tag[0] == "B":
                current = None
    return out


def reference_normalize(text: str) -> str:
    """The reference's answer normalisation (SQuAD's, English only): lower-case, drop ASCII
    punctuation, drop English articles, collapse whitespace."""
    import string

    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def reference_qa_f1(prediction: str, truth: str) -> float:
    """The reference's token F1 (``multilingual_eval/training/evaluation_loops.py`` lines
    182-199): *sets* of whitespace tokens, and ``2pr / max(1, p + r)``, which is below the
    usual F1 whenever ``p + r < 1``."""
    pred, gold = reference_normalize(prediction).split(), reference_normalize(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    common = set(pred) & set(gold)
    if not common:
        return 0.0
    precision, recall = len(common) / len(pred), len(common) / len(gold)
    return 2 * precision * recall / max(1, precision + recall)


def reference_qa_scores(
    predictions: Sequence[str], first_golds: Sequence[str], normalized_em: bool
) -> dict[str, float]:
    """The reference's EM and F1 against the *first* gold answer of each question. EM is a
    raw string comparison for target languages and compares normalised strings only for
    the training language (``normalized_em``), as in lines 211-243 of the same file."""
    if not predictions:
        return {"f1": 0.0, "exact_match": 0.0}
    if normalized_em:
        em = sum(reference_normalize(p) == reference_normalize(g) for p, g in zip(predictions, first_golds))
    else:
        em = sum(p == g for p, g in zip(predictions, first_golds))
    f1 = sum(reference_qa_f1(p, g) for p, g in zip(predictions, first_golds))
    return {"f1": f1 / len(predictions), "exact_match": em / len(predictions)}


def answer_tokens(text: str, language: str) -> list[str]:
    """Normalise an answer and split it into tokens (see the module docstring)."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    if language in ARTICLES:
        text = re.sub(ARTICLES[language], " ", text)
    tokens: list[str] = []
    for chunk in text.split():
        run = ""
        for ch in chunk:
            if NO_SPACE_CHAR.match(ch):
                if run:
                    tokens.append(run)
                    run = ""
                tokens.append(ch)
            else:
                run += ch
        if run:
            tokens.append(run)
    return tokens


def qa_f1(prediction: str, gold: str, language: str) -> float:
    pred, ref = answer_tokens(prediction, language), answer_tokens(gold, language)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def qa_exact(prediction: str, gold: str, language: str) -> float:
    return float(" ".join(answer_tokens(prediction, language)) == " ".join(answer_tokens(gold, language)))


def qa_scores(predictions: Sequence[str], golds: Sequence[Sequence[str]], language: str) -> dict[str, float]:
    if not predictions:
        return {"f1": 0.0, "exact_match": 0.0}
    f1 = sum(max(qa_f1(p, g, language) for g in gs) for p, gs in zip(predictions, golds)) / len(predictions)
    em = sum(max(qa_exact(p, g, language) for g in gs) for p, gs in zip(predictions, golds)) / len(predictions)
    return {"f1": f1, "exact_match": em}
