"""``contrastive_sentence``: aligner-free realignment on mean-pooled sentence vectors (the
reference's ``before_noaligner``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.objectives.base import RealignmentLoss


def sentence_info_nce(left: torch.Tensor, right: torch.Tensor, temperature: float, mode: str = "strong"):
    """Symmetric InfoNCE over the ``2N`` sentence vectors of a batch: ``left[i]`` (a source)
    must retrieve ``right[i]`` (its translation) and ``right[i]`` must retrieve ``left[i]``,
    by cosine / ``temperature``, against the other sentences of the batch; the mean over the
    ``2N`` queries. ``strong``: every other sentence is a candidate (only the query itself is
    left out); ``weak``: only the other language's ``N``."""
    n = left.shape[0]
    vectors = F.normalize(torch.cat([left, right]), dim=-1)
    scores = vectors @ vectors.T / temperature  # [2N, 2N]
    mask = torch.eye(2 * n, dtype=torch.bool, device=scores.device)
    if mode == "weak":
        mask[:n, :n] = True
        mask[n:, n:] = True
    scores = scores.masked_fill(mask, float("-inf"))
    rows = torch.arange(n, device=scores.device)
    positive = torch.cat([rows + n, rows])
    return F.cross_entropy(scores, positive)


def pooling_mask(batch: PairBatch, pooling: str) -> torch.Tensor:
    """``[2N, T]`` weights of each position in its sentence's vector: the real tokens
    (``mask``), or the first ``n_words`` positions (``reference_prefix``)."""
    if pooling == "mask":
        return batch.attention_mask
    if pooling == "reference_prefix":
        positions = torch.arange(batch.input_ids.shape[1], device=batch.input_ids.device)
        return (positions[None, :] < batch.row_words[:, None]).long()
    raise ValueError(f"unknown sentence pooling {pooling!r} (allowed: mask, reference_prefix)")


def mean_pool(hidden: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``[B, d]``: the mean of ``hidden`` ``[B, T, d]`` over the positions with weight 1."""
    weights = weights.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


class ContrastiveSentenceLoss(RealignmentLoss):
    """Aligner-free contrastive realignment: each sentence's mean-pooled vector, after the
    projection head, must be closer (cosine / ``temperature``) to its translation's than
    to the other sentences of the batch, in both directions (:func:`sentence_info_nce`).

    Paper: the AACL 2025 successor of AlignFreeze ("before_noaligner", code
    ``felixgaschi/multilingual-alignment-and-transfer``) and its EMNLP 2026 follow-up.
    Reference: ``multilingual_eval/models/realignment_loss.py`` l.155-163 (pooling),
    l.182-184 (head), l.189-199 and l.254-287 (the loss: symmetric, 2N candidates,
    ``strong_alignment=True`` in every script: only the query itself masked); in the EMNLP
    2026 code (felixgaschi/emnlp-2026-code-submission @f85fd628) the same at l.212-220 and
    l.316-349, with temperature 0.1 and a head ``Linear(hidden, 128)`` without ReLU
    (``projection: linear``; ``simplified.py`` l.80, 93-108).

    Pooling (``sentence_pooling``): ``mask`` (ours) averages the sentence's real tokens,
    [CLS] and [SEP] included, by the attention mask. The reference averaged a length prefix
    instead: the positions ``[0, n_words)``, ``n_words`` the number of words that kept a
    subword (``build_mask_from_lengths`` of ``alignment_left_length``,
    ``realignment_task.py`` l.269-283) -- from [CLS] on, over subword positions, so it leaves
    out the end of the sentence. ``reference_prefix`` reproduces it.

    Args:
        config: ``temperature``, ``mode`` (``strong``, the reference's; ``weak``: only the
            other language's sentences are candidates), ``projection``, ``projection_dim``,
            ``projection_sharing``, ``sentence_pooling``.
        hidden_size, layers, language_pairs: see :class:`RealignmentLoss`.

    Inputs: raw sentence pairs, no word links: a run takes ``aligner: none`` and nothing is
    aligned (:class:`~alignfreeze.align.sources.SentencePairFile`).

    Example::

        config = af.RealignConfig(objective="contrastive_sentence", layers="top", projection="linear")
        loss = ContrastiveSentenceLoss(config, hidden_size=384, layers=[12])
        loss.pair_loss(12, source_sentences, target_sentences)    # [N, d] each
    """

    needs_links = False

    def pair_loss(self, layer: int, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """The loss of ``N`` source and ``N`` target sentence vectors (row ``i`` translations)."""
        head = self.head(layer)
        return sentence_info_nce(head(left), head(right), self.config.temperature, self.config.mode)

    def layer_loss(self, layer: int, hidden: torch.Tensor, batch: PairBatch, initial=None) -> torch.Tensor:
        pooled = mean_pool(hidden, pooling_mask(batch, self.config.sentence_pooling))
        n = pooled.shape[0] // 2
        return self.pair_loss(layer, pooled[:n], pooled[n:])
