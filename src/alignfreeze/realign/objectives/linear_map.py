"""``linear_map``: a learned linear map per language pair, applied to the target side's
vectors before they are compared with the source's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from alignfreeze.errors import AlignfreezeError
from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.loss import ContrastiveAlignmentLoss
from alignfreeze.realign.objectives.base import RealignmentLoss, word_vectors


class LinearMapLoss(RealignmentLoss):
    """Realignment through a linear map: each language pair ``p`` has a ``d x d`` matrix
    ``W_p``, initialised to the identity and trained with the model, and the target
    language's word vectors ``t`` become ``W_p t`` before they are compared with the
    source's (English, the pivot, is never mapped): by MSE (``linear_map_loss: mse``, no
    head) or by the contrastive word loss on the projection head's output (``contrastive``).
    The encoder thus need not move all the way: part of the alignment is the map's.

    Source: the reference code's ``with_mapping`` option (posos-tech/multilingual-alignment-and-transfer):
    ``multilingual_eval/models/multiple_mapping.py`` l.9-72 (one matrix per pair, identity
    at l.39-41, no bias, applied to ``right_emb`` by pair id, −1 the pivot: identity,
    l.47-62), ``models/modified_transformers/bert_model.py`` l.68-103 (applied to the last
    hidden state only). Not reproduced: the reference's optional orthogonalisation step
    (β 0.001, l.64-72) and its ``train_only_mapping`` (the encoder under ``no_grad``; here a
    freeze spec chooses what trains). Ours applies the map at every listed layer, one matrix
    per (layer, language pair). Weight decay (``weight_decay`` with AdamW) pulls the maps
    towards zero, not the identity; the reference's Adam had none (``weight_decay: 0``).

    Args:
        config: ``linear_map_loss``; for ``contrastive``, ``temperature``, ``mode`` and the
            projection settings. Needs ``batching: by_pair`` (a batch is one language pair).
        hidden_size, layers, language_pairs: see :class:`RealignmentLoss`.

    Inputs: word-aligned sentence pairs (an aligner), a batch per language pair.

    Example::

        config = af.RealignConfig(objective="linear_map", linear_map_loss="mse")
        loss = LinearMapLoss(config, hidden_size=384, layers=[12], language_pairs=["en-fr", "en-de"])
        loss.pair_loss(12, "en-fr", src_vectors, tgt_vectors, links)
    """

    def __init__(self, config, hidden_size, layers, language_pairs=()):
        super().__init__(config, hidden_size, layers, language_pairs)
        if config.linear_map_loss == "mse":
            self.heads = nn.ModuleDict()  # compared directly, as the l2 objective
        if config.batching != "by_pair":
            raise AlignfreezeError("the linear_map objective needs batching: by_pair (one language pair per batch)")
        self.maps = nn.ParameterDict(
            {
                self.map_name(layer, pair): nn.Parameter(torch.eye(hidden_size))
                for layer in self.layers
                for pair in self.language_pairs
            }
        )
        self.criterion = ContrastiveAlignmentLoss(config.temperature, config.mode)

    @staticmethod
    def map_name(layer: int, pair: str) -> str:
        return f"L{layer}_{pair}".replace("-", "_").replace(".", "_")

    def pair_loss(
        self, layer: int, pair: str, src: torch.Tensor, tgt: torch.Tensor, links: torch.Tensor
    ) -> torch.Tensor:
        """The loss of source and target word vectors (``[m, d]``, ``[n, d]``) of language
        pair ``pair``, the targets mapped by ``W_pair``."""
        name = self.map_name(layer, pair)
        if name not in self.maps:
            raise ValueError(
                f"the linear_map objective has no map for {pair!r} (it has {', '.join(self.language_pairs)})"
            )
        mapped = F.linear(tgt, self.maps[name])
        if self.config.linear_map_loss == "mse":
            if links.numel() == 0:
                raise ValueError("the batch has no aligned word")
            return F.mse_loss(src[links[:, 0]], mapped[links[:, 1]])
        head = self.head(layer)
        return self.criterion(head(src), head(mapped), links)

    def layer_loss(self, layer: int, hidden: torch.Tensor, batch: PairBatch, initial=None) -> torch.Tensor:
        return self.pair_loss(layer, batch.language_pair, *word_vectors(hidden, batch), batch.links)
