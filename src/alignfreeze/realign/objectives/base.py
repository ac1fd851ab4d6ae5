"""What every realignment objective shares: the layers it is computed on, one projection
head per layer, the averaging over layers, and the word and sentence vectors of a batch.

An objective is a :class:`RealignmentLoss`: an ``nn.Module`` built from the run's
:class:`~alignfreeze.realign.config.RealignConfig`, the model's hidden size, the layers
(:func:`~alignfreeze.realign.config.resolve_layers`) and the language pairs of the run. Its
parameters (projection heads, maps) are trained with the model and discarded afterwards.
:class:`~alignfreeze.realign.trainer.RealignmentObjective` runs the encoder and calls it with
the hidden states of each listed layer; the objective writes only :meth:`layer_loss`.
"""

from __future__ import annotations

from typing import ClassVar, Mapping, Sequence

import torch
from torch import nn

from alignfreeze.realign.batches import PairBatch
from alignfreeze.realign.config import RealignConfig
from alignfreeze.realign.projection import projection_head


def pool_word_vectors(
    hidden: torch.Tensor, token_index: torch.Tensor, token_word: torch.Tensor, n_words: int
) -> torch.Tensor:
    """Average the gathered token vectors per word (one token per word for first-subword)."""
    flat = hidden.reshape(-1, hidden.shape[-1])
    sums = torch.zeros(n_words, flat.shape[-1], dtype=flat.dtype, device=flat.device)
    sums.index_add_(0, token_word, flat[token_index])
    counts = torch.zeros(n_words, dtype=flat.dtype, device=flat.device)
    counts.index_add_(0, token_word, torch.ones_like(token_word, dtype=flat.dtype))
    return sums / counts.clamp(min=1).unsqueeze(-1)


def word_vectors(hidden: torch.Tensor, batch: PairBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """The source and target word vectors ``([m, d], [n, d])`` of a batch at one layer
    (``hidden``: ``[2N, T, d]``), in the order of ``batch.links``' indices."""
    src = pool_word_vectors(hidden, batch.src_token_index, batch.src_token_word, batch.n_src_words)
    tgt = pool_word_vectors(hidden, batch.tgt_token_index, batch.tgt_token_word, batch.n_tgt_words)
    return src, tgt


class RealignmentLoss(nn.Module):
    """The base of every objective: ``forward`` averages :meth:`layer_loss` over the layers.

    Args:
        config: the realignment settings (temperature, projection head, the objective's own).
        hidden_size: the encoder's hidden size.
        layers: hidden-state indices the loss is computed on (0: embeddings, ``L``: top).
        language_pairs: the run's language pairs (``en-fr``), in order.

    Class attributes an objective sets:

    * ``needs_links``: it learns from word links (an aligner); False: from raw sentence pairs
      (``aligner: none``).
    * ``needs_initial_model``: ``forward`` also gets the hidden states of a frozen copy of the
      encoder as it was before realignment.
    * ``uses_projection``: one projection head (``config.projection``) per layer, ``self.heads``.
    """

    needs_links: ClassVar[bool] = True
    needs_initial_model: ClassVar[bool] = False
    uses_projection: ClassVar[bool] = True

    def __init__(
        self,
        config: RealignConfig,
        hidden_size: int,
        layers: Sequence[int],
        language_pairs: Sequence[str] = (),
    ):
        super().__init__()
        if not layers:
            raise ValueError("an objective needs at least one layer")
        self.config = config
        self.layers = list(layers)
        self.language_pairs = list(language_pairs)
        self.heads = nn.ModuleDict()
        if self.uses_projection:
            # In layer order, so that the first (and, for one layer, only) head gets the
            # same initialisation whatever the number of layers.
            shared = None
            for layer in self.layers:
                if config.projection_sharing == "shared" and shared is not None:
                    self.heads[str(layer)] = shared
                    continue
                shared = projection_head(config.projection, hidden_size, config.projection_dim)
                self.heads[str(layer)] = shared

    def head(self, layer: int) -> nn.Module:
        """The projection head of ``layer`` (the identity for an objective without heads)."""
        return self.heads[str(layer)] if str(layer) in self.heads else nn.Identity()

    def layer_loss(
        self, layer: int, hidden: torch.Tensor, batch: PairBatch, initial: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The loss at one layer. ``hidden``: ``[2N, T, d]``, the batch's N sources then N
        targets; ``initial``: the initial model's ``[2N, T, d]`` at that layer, for an
        objective with ``needs_initial_model``."""
        raise NotImplementedError

    def forward(
        self,
        hidden: Mapping[int, torch.Tensor],
        batch: PairBatch,
        initial: Mapping[int, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The mean over ``self.layers`` of :meth:`layer_loss` (the reference sums the
        per-layer losses with weight 1/len(layers): ``realignment_loss.py`` l.298-301)."""
        losses = [
            self.layer_loss(layer, hidden[layer], batch, None if initial is None else initial[layer])
            for layer in self.layers
        ]
        return losses[0] if len(losses) == 1 else torch.stack(losses).mean()
