"""Contrastive word-alignment loss (InfoNCE) for realignment.

Following Wu & Dredze (2020) and Gaschi et al. (2023), as used by AlignFreeze (Bakos,
Gaschi et al., 2025). A batch holds the word vectors of every word of its source
sentences, :math:`S = \\{s_1..s_m\\}`, and of its target sentences,
:math:`T = \\{t_1..t_n\\}`, after the projection head, and a set of links
:math:`A \\subseteq [m] \\times [n]`. Every linked word is a query, on both sides: a link
:math:`(i, j)` gives the query :math:`s_i` with positive :math:`t_j`, and the query
:math:`t_j` with positive :math:`s_i`. For a query :math:`q` with positive :math:`p`:

.. math::

    \\ell(q, p) = -\\log \\frac{\\exp(\\cos(q, p) / \\tau)}
                              {\\sum_{c \\in C(q)} \\exp(\\cos(q, c) / \\tau)}

and the loss is the mean of :math:`\\ell` over the :math:`2|A|` queries. :math:`\\tau` is the
temperature (0.1). The candidates :math:`C(q)` are:

* **strong** alignment (the paper's setting): every word of the batch, from both
  languages, except the query itself -- so a word must be closer to its translation than
  to any other word, including words of its own language;
* **weak** alignment: only the words of the other language (:math:`T` for a source query).

The positive is always among the candidates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ContrastiveAlignmentLoss(nn.Module):
    def __init__(self, temperature: float = 0.1, mode: str = "strong"):
        super().__init__()
        if mode not in ("strong", "weak"):
            raise ValueError(f"unknown alignment mode {mode!r} (allowed: strong, weak)")
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = temperature
        self.mode = mode

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, links: torch.Tensor) -> torch.Tensor:
        """``src``: ``[m, d]``, ``tgt``: ``[n, d]`` word vectors; ``links``: ``[k, 2]`` long
        tensor of (source index, target index). Returns the scalar loss."""
        if links.numel() == 0:
            raise ValueError("the batch has no aligned word")
        m = src.shape[0]
        words = F.normalize(torch.cat([src, tgt]), dim=-1)
        # Queries: linked source words, then linked target words (indices into `words`).
        query = torch.cat([links[:, 0], links[:, 1] + m])
        positive = torch.cat([links[:, 1] + m, links[:, 0]])
        scores = words[query] @ words.T / self.temperature  # [2k, m + n]
        mask = torch.zeros_like(scores, dtype=torch.bool)
        rows = torch.arange(query.shape[0], device=scores.device)
        if self.mode == "strong":
            mask[rows, query] = True  # only the query itself is excluded
        else:
            k = links.shape[0]
            mask[:k, :m] = True  # source queries see target words only
            mask[k:, m:] = True  # target queries see source words only
        scores = scores.masked_fill(mask, float("-inf"))
        return F.cross_entropy(scores, positive)
