"""``l2``: MSE between aligned word vectors, regularised towards the initial model (Cao et
al., 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.objectives.base import RealignmentLoss, word_vectors


def masked_mse(current: torch.Tensor, initial: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean squared difference of ``current`` and ``initial`` (``[B, T, d]``) over the
    positions where ``mask`` (``[B, T]``) is 1, and over the ``d`` dimensions."""
    weights = mask.to(current.dtype).unsqueeze(-1)
    squared = ((current - initial) ** 2 * weights).sum()
    return squared / (weights.sum() * current.shape[-1]).clamp(min=1)


class L2Loss(RealignmentLoss):
    """L2 realignment: the mean squared distance between the vectors of aligned words (no
    projection head), plus ``regularization_weight`` times the mean squared distance
    between the hidden states of the source (English) sentences and those of a frozen copy
    of the encoder as it was before realignment, at the same layer, over real tokens. The
    regulariser keeps the source language's space where it was, so that the target languages
    move towards it rather than both drifting (Cao et al., 2020).

    Paper: Cao, Kitaev & Klein (ICLR 2020), "Multilingual alignment of contextual word
    representations". Reference: ``multilingual_eval/models/realignment_loss.py`` l.186-187
    (``F.mse_loss`` of the aligned vectors) and l.293-296 (the regulariser, λ 1.0, on the
    left/source hidden states); no head for l2 (``with_realignment_factory.py`` l.84-87).
    Differences: the reference's regulariser averages over the whole padded tensor, padding
    included, and its initial copy follows the model into train mode (dropout); ours averages
    over real tokens, with the copy in eval mode. The reference's scripts never switch it on
    (``regularization_to_init=False``).

    Args:
        config: ``regularization_weight`` (λ, default 1.0; 0: plain MSE), ``word_vector``.
        hidden_size, layers, language_pairs: see :class:`RealignmentLoss`.

    Inputs: word-aligned sentence pairs (an aligner), and the initial model, which the
    trainer copies when realignment starts.

    Example::

        config = af.RealignConfig(objective="l2", regularization_weight=1.0)
        loss = L2Loss(config, hidden_size=384, layers=[12])
        loss.pair_loss(src_vectors, tgt_vectors, links)    # without the regulariser
    """

    needs_initial_model = True
    uses_projection = False

    def pair_loss(self, src: torch.Tensor, tgt: torch.Tensor, links: torch.Tensor) -> torch.Tensor:
        """MSE between the linked rows of ``src`` ``[m, d]`` and ``tgt`` ``[n, d]``."""
        if links.numel() == 0:
            raise ValueError("the batch has no aligned word")
        return F.mse_loss(src[links[:, 0]], tgt[links[:, 1]])

    def regularizer(self, hidden: torch.Tensor, initial: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """MSE between the current and initial hidden states of the batch's N source rows."""
        n = hidden.shape[0] // 2
        return masked_mse(hidden[:n], initial[:n], attention_mask[:n])

    def layer_loss(self, layer: int, hidden: torch.Tensor, batch: PairBatch, initial=None) -> torch.Tensor:
        loss = self.pair_loss(*word_vectors(hidden, batch), batch.links)
        if self.config.regularization_weight:
            if initial is None:
                raise ValueError("the l2 objective needs the initial model's hidden states")
            loss = loss + self.config.regularization_weight * self.regularizer(hidden, initial, batch.attention_mask)
        return loss
