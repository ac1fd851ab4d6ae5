"""``contrastive_word``: InfoNCE between the vectors of aligned words, the loss of Gaschi et
al. (2023) and AlignFreeze (the default objective)."""

from __future__ import annotations

import torch

from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.loss import ContrastiveAlignmentLoss
from alignfreeze.realign.objectives.base import RealignmentLoss, word_vectors


class ContrastiveWordLoss(RealignmentLoss):
    """Contrastive word-level realignment: each aligned word, after the projection head,
    must be closer (cosine / ``temperature``) to its translation than to the other
    candidates of the batch; the mean over both directions of every link
    (:class:`~alignfreeze.realign.loss.ContrastiveAlignmentLoss` has the equation).

    Paper: Wu & Dredze (2020), "Do explicit alignments robustly improve multilingual
    encoders?"; Gaschi et al. (Findings of ACL 2023); AlignFreeze (Bakos, Gaschi et al.,
    NAACL 2025). Reference: ``multilingual_eval/models/realignment_loss.py`` l.200-246
    (token method), on first-subword vectors.

    Args:
        config: ``temperature``, ``mode`` (``strong``: both languages' words are
            candidates; ``weak``: the other language's), ``projection``, ``projection_dim``,
            ``projection_sharing``, ``word_vector``.
        hidden_size, layers, language_pairs: see :class:`RealignmentLoss`.

    Inputs: word-aligned sentence pairs (an aligner: ``aligner: dictionary``, ...).

    Example::

        config = af.RealignConfig(objective="contrastive_word", temperature=0.1, mode="strong")
        loss = ContrastiveWordLoss(config, hidden_size=384, layers=[12])
        loss.pair_loss(12, src_vectors, tgt_vectors, links)    # [m, d], [n, d], [k, 2]
    """

    def __init__(self, config, hidden_size, layers, language_pairs=()):
        super().__init__(config, hidden_size, layers, language_pairs)
        self.criterion = ContrastiveAlignmentLoss(config.temperature, config.mode)

    def pair_loss(self, layer: int, src: torch.Tensor, tgt: torch.Tensor, links: torch.Tensor) -> torch.Tensor:
        """The loss of word vectors ``src`` ``[m, d]`` and ``tgt`` ``[n, d]`` linked by ``links``."""
        head = self.head(layer)
        return self.criterion(head(src), head(tgt), links)

    def layer_loss(self, layer: int, hidden: torch.Tensor, batch: PairBatch, initial=None) -> torch.Tensor:
        return self.pair_loss(layer, *word_vectors(hidden, batch), batch.links)
