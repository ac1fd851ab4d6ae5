"""Zero-shot evaluation: each task's predictions on a language's records, and their scores.

* ``pos`` / ``ner``: predictions at each word's first subword (:func:`predict_tags`);
  with ``long_sentences: truncate`` a word cut off by the length limit is predicted as a
  fallback (wrong) and counted, with ``windows`` each window is a sequence of its own.
  NER is scored with ``seqeval`` and word accuracy, BIO-repaired first when the run's
  ``evaluation.ner_bio_repair`` says so.
* ``nli``: the argmax class of each premise/hypothesis pair.
* ``qa``: ``squad`` scorer -- the best span over all windows (start + end logit, at most
  ``max_answer_tokens``), SQuAD/MLQA scores; ``reference`` scorer -- the question-answering
  pipeline's decoding (:func:`pipeline_answers`) and the reference code's scores.

Labels are compared as strings: an evaluation label never seen in training cannot be
predicted, is counted (``unseen_label_words``, ``unseen_labels``) and reported, and never
crashes the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from alignfreeze.data.records import QaExample, TaggedSentence
from alignfreeze.evaluate.metrics import accuracy, ner_scores, qa_scores, reference_qa_scores
from alignfreeze.finetune.tasks import QaWindows, TaggingTask, Task, pad_sequences, qa_windows


@dataclass
class Scores:
    """Metrics of one language (fractions) plus diagnostics for metrics.json."""

    metrics: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _device(model) -> torch.device:
    return next(model.parameters()).device


def predict_tags(
    task: TaggingTask,
    model,
    tokenizer,
    records: Sequence[TaggedSentence],
    max_length: int,
    batch_size: int,
    labels: list[str],
    fallback: str,
) -> tuple[list[list[str]], list[list[str]], int]:
    """Scored sequences ``(gold, predicted)`` and how many words were cut off.

    ``truncate``: one sequence per sentence; a word cut off by ``max_length`` is
    predicted as ``fallback`` (and counted). ``windows``: one sequence per window, made
    of the words whose first subword (in that window) is scored."""
    model.eval()
    windows = task._windows(tokenizer, [r.words for r in records], max_length)
    order = sorted(range(len(windows)), key=lambda k: len(windows[k].input_ids))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    best: list[list[int]] = [[] for _ in windows]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids = pad_sequences([windows[k].input_ids for k in idx], pad_id)
            mask = pad_sequences([[1] * len(windows[k].input_ids) for k in idx], 0)
            logits = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model))).logits
            for row, k in enumerate(idx):
                best[k] = logits[row].argmax(-1).tolist()
    gold_sequences, predicted_sequences, truncated = [], [], 0
    split = task.training.long_sentences == "windows"
    for window, predicted in zip(windows, best):
        record = records[window.sentence]
        gold, tags = [], []
        for w, pos in enumerate(window.mapping.label_positions(task.tokenization.label_subword)):
            if pos >= 0:
                gold.append(record.tags[w])
                tags.append(labels[predicted[pos]])
            elif not split:
                truncated += 1
                gold.append(record.tags[w])
                tags.append(fallback)
        if gold or not split:
            gold_sequences.append(gold)
            predicted_sequences.append(tags)
    return gold_sequences, predicted_sequences, truncated


def unseen_labels(records: Sequence[TaggedSentence], labels: list[str]) -> dict[str, Any]:
    known = set(labels)
    unseen = Counter(t for r in records for t in r.tags if t not in known)
    return {"unseen_label_words": sum(unseen.values()), "unseen_labels": dict(sorted(unseen.items()))}


def evaluate_pos(task: Task, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
    gold, predicted, truncated = predict_tags(
        task, model, tokenizer, records, max_length, batch_size, labels, fallback=""
    )
    flat_gold = [t for g in gold for t in g]
    flat = [t for p in predicted for t in p]
    return Scores(
        {"accuracy": accuracy(flat_gold, flat)},
        {
            "words": len(flat_gold),
            "sequences": len(gold),
            "truncated_words": truncated,
            **unseen_labels(records, labels),
        },
    )


def evaluate_ner(task: Task, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
    gold, predicted, truncated = predict_tags(
        task, model, tokenizer, records, max_length, batch_size, labels, fallback="O"
    )
    scores = ner_scores(gold, predicted, repair=task.evaluation.ner_bio_repair)
    words = sum(len(g) for g in gold)
    return Scores(
        scores,
        {"words": words, "sequences": len(gold), "truncated_words": truncated, **unseen_labels(records, labels)},
    )


def evaluate_nli(task: Task, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
    model.eval()
    order = sorted(range(len(records)), key=lambda i: len(records[i].premise) + len(records[i].hypothesis))
    predicted: list[str] = [""] * len(records)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = task._encode([records[i] for i in idx], tokenizer, max_length, padding=True, return_tensors="pt")
            enc = {k: v.to(_device(model)) for k, v in enc.items()}
            for i, best in zip(idx, model(**enc).logits.argmax(-1).tolist()):
                predicted[i] = labels[best]
    gold = [r.label for r in records]
    return Scores({"accuracy": accuracy(gold, predicted)}, {"examples": len(records)})


def evaluate_qa(task: Task, model, tokenizer, records, language, max_length, batch_size, labels) -> Scores:
    if task.evaluation.qa_scorer == "reference":
        predictions = pipeline_answers(model, tokenizer, records, batch_size)
        firsts = [r.answers[0].text if r.answers else "" for r in records]
        scores = reference_qa_scores(predictions, firsts, normalized_em=language == task.source_language)
        return Scores(scores, {"questions": len(records), "scorer": "reference"})
    model.eval()
    best: list[tuple[float, str]] = [(float("-inf"), "") for _ in records]
    with torch.inference_mode():
        for start in range(0, len(records), batch_size):
            chunk = list(range(start, min(start + batch_size, len(records))))
            windows = task._windows([records[i] for i in chunk], tokenizer, max_length)
            n = len(windows.input_ids)
            for w0 in range(0, n, batch_size):
                rows = list(range(w0, min(w0 + batch_size, n)))
                ids = pad_sequences([windows.input_ids[w] for w in rows], tokenizer.pad_token_id or 0)
                mask = pad_sequences([[1] * len(windows.input_ids[w]) for w in rows], 0)
                out = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model)))
                starts, ends = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                for r, w in enumerate(rows):
                    i = chunk[windows.example[w]]
                    score, text = best_span(
                        task.max_answer_tokens,
                        starts[r],
                        ends[r],
                        windows.offsets[w],
                        windows.sequence_ids[w],
                        records[i].context,
                    )
                    if score > best[i][0]:
                        best[i] = (score, text)
    predictions = [text for _, text in best]
    golds = [[a.text for a in r.answers] or [""] for r in records]
    return Scores(qa_scores(predictions, golds, language), {"questions": len(records)})


def best_span(max_answer_tokens: int, start_logits, end_logits, offsets, sequence_ids, context: str, top: int = 20):
    """``(score, text)`` of the best context span of one window: among the ``top`` start and
    end positions, the highest start + end logit with end >= start and at most
    ``max_answer_tokens`` tokens."""
    length = len(sequence_ids)
    start_logits, end_logits = start_logits[:length], end_logits[:length]
    best_score, best_text = float("-inf"), ""
    for s in start_logits.topk(min(top, length)).indices.tolist():
        if sequence_ids[s] != 1:
            continue
        for e in end_logits.topk(min(top, length)).indices.tolist():
            if sequence_ids[e] != 1 or e < s or e - s + 1 > max_answer_tokens:
                continue
            score = float(start_logits[s] + end_logits[e])
            if score > best_score:
                best_score, best_text = score, context[offsets[s][0] : offsets[e][1]]
    return best_score, best_text


#: The question-answering pipeline's defaults that the reference code ran with
#: (transformers 4.18, ``multilingual_eval/training/evaluation_loops.py`` lines 132-134).
PIPELINE_MAX_LENGTH, PIPELINE_STRIDE, PIPELINE_MAX_ANSWER_TOKENS = 384, 128, 15


def pipeline_answers(model, tokenizer, records: Sequence[QaExample], batch_size: int = 64) -> list[str]:
    """Answers as the transformers question-answering pipeline picks them with its
    defaults: question + context windows of ``min(384, model_max_length)`` tokens with an
    overlap of half that (at most 128); in each window, softmax over the start logits and
    over the end logits of the context tokens (and the first token, which is then zeroed),
    the best ``p(start) * p(end)`` span of at most 15 tokens, widened to whole words of the
    context (leading whitespace trimmed); the best window wins."""
    import numpy as np

    model.eval()
    max_length = min(
        PIPELINE_MAX_LENGTH, getattr(tokenizer, "model_max_length", PIPELINE_MAX_LENGTH) or PIPELINE_MAX_LENGTH
    )
    stride = min(max_length // 2, PIPELINE_STRIDE)
    best: list[tuple[float, str]] = [(-1.0, "") for _ in records]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for start in range(0, len(records), batch_size):
            chunk = list(range(start, min(start + batch_size, len(records))))
            windows = qa_windows(
                tokenizer,
                [records[i].question for i in chunk],
                [records[i].context for i in chunk],
                max_length,
                stride,
            )
            n = len(windows.input_ids)
            for w0 in range(0, n, batch_size):
                rows = list(range(w0, min(w0 + batch_size, n)))
                ids = pad_sequences([windows.input_ids[w] for w in rows], pad_id)
                mask = pad_sequences([[1] * len(windows.input_ids[w]) for w in rows], 0)
                out = model(input_ids=ids.to(_device(model)), attention_mask=mask.to(_device(model)))
                starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
                for r, w in enumerate(rows):
                    length = len(windows.input_ids[w])
                    allowed = np.array([s == 1 for s in windows.sequence_ids[w]])
                    allowed[[k for k, t in enumerate(windows.input_ids[w]) if t == tokenizer.cls_token_id]] = True
                    score, span = _pipeline_span(starts[r, :length], ends[r, :length], allowed)
                    if span is None:
                        continue
                    i = chunk[windows.example[w]]
                    begin, end = _word_chars(windows, w, span[0])[0], _word_chars(windows, w, span[1])[1]
                    if score > best[i][0]:
                        best[i] = (score, records[i].context[begin:end].lstrip())
    return [text for _, text in best]


def _word_chars(windows: QaWindows, row: int, token: int) -> tuple[int, int]:
    """The context characters of the pre-tokenizer word that holds ``token`` (within this
    window), from the offsets rather than ``word_to_chars``, whose treatment of the space
    before a word changed across tokenizers versions. For XLM-R a word is a whitespace-
    separated chunk, punctuation included; for BERT, punctuation is a word of its own."""
    offsets, words, sequence = windows.offsets[row], windows.word_ids[row], windows.sequence_ids[row]
    word = words[token]
    if word is None:
        return offsets[token][0], offsets[token][1]
    members = [k for k in range(len(words)) if words[k] == word and sequence[k] == 1]
    return min(offsets[k][0] for k in members), max(offsets[k][1] for k in members)


def _pipeline_span(start_logits, end_logits, allowed, max_answer_tokens: int = PIPELINE_MAX_ANSWER_TOKENS):
    """``(score, (start, end))`` of the pipeline's best span in one window, or ``(0, None)``."""
    import numpy as np

    def softmax(logits):
        masked = np.where(allowed, logits, -10000.0)
        exp = np.exp(masked - masked.max())
        return exp / exp.sum()

    p_start, p_end = softmax(start_logits), softmax(end_logits)
    p_start[0] = p_end[0] = 0.0  # the pipeline masks the first ([CLS]/<s>) token after the softmax
    candidates = np.tril(np.triu(np.outer(p_start, p_end)), max_answer_tokens - 1)
    s, e = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    if not (allowed[s] and allowed[e]):
        return 0.0, None
    return float(candidates[s, e]), (int(s), int(e))


#: Task name -> its evaluation. A new task adds one line here.
EVALUATORS: dict[str, Callable[..., Scores]] = {
    "pos": evaluate_pos,
    "ner": evaluate_ner,
    "nli": evaluate_nli,
    "qa": evaluate_qa,
}


def evaluate(
    task: Task,
    model,
    tokenizer,
    records: Sequence[Any],
    language: str,
    max_length: int,
    batch_size: int,
    labels: list[str],
) -> Scores:
    """Score ``model`` on ``records`` of one ``language`` for ``task`` (zero-shot when the
    language is not the one it was trained on).

    Args:
        task: the task and its settings (:func:`alignfreeze.finetune.get_task`).
        model: a task model (its head matches ``task``), on any device.
        tokenizer: the model's fast tokenizer.
        records: the language's evaluation records (``TaggedSentence``, ``NliExample`` or ``QaExample``).
        language: the records' language code (QA's reference scorer normalises EM for the training language only).
        max_length: subwords per input.
        batch_size: inputs per forward pass.
        labels: the label names, in the order of the model's classes.

    Returns:
        :class:`Scores`: metrics as fractions, and diagnostics for ``metrics.json``.

    Example::

        scores = af.evaluate(task, model, tokenizer, pud_fr, "fr", 128, 64, labels)
        scores.metrics["accuracy"]
    """
    records = task.prepare_records(records, language)  # the words pos/ner sentences have in this run
    return EVALUATORS[task.name](task, model, tokenizer, records, language, max_length, batch_size, labels)
