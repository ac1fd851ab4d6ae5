"""Weighted language sampling (``realignment.language_weighting``): which language pair each
realignment batch is drawn from, chosen from weights that follow the realignment loss.

The emnlp-2026 reference (felixgaschi/emnlp-2026-code-submission @ f85fd628) draws the
language of each *example* (``multilingual_eval/datasets/weighted_data_utils.py`` lines
68-72) and reads a per-language loss from per-example losses
(``multilingual_eval/models/realignment_loss.py`` lines 350-373). Here the language is
chosen per *batch* (``batching: by_pair``: each batch from one language pair), and a batch's
loss is its language's reward; per-example losses would need the loss to report each
pair's share, which it does not.

* ``uniform``: the language pairs in turn (no weights; today's ``by_pair``).
* ``ucb`` (:class:`UCBWeights`): the reference's UCB sampler
  (``multilingual_eval/training/epoch_loop.py`` lines 896-1091).
* ``meta`` (:class:`MetaWeights`): the reference's *decoupled* meta-learned weights
  (``multilingual_eval/training/decoupled_weighted_selection.py`` lines 74-123, its
  ``--decouple_meta_and_model_updates decoupled``): phase 1 learns the weights with the
  model frozen, phase 2 realigns the model on the fixed weights.
* ``meta_closed``: the same with phase 1 in closed form (``decoupled_closed``,
  ``epoch_loop.py`` lines 670-767): each weight is its language's mean loss over one pass.

Every weighting records its weights over time (:attr:`LanguageWeights.log`); a run writes
them to ``runs/<run_id>/language_weights.jsonl`` and sends them to its tracker.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from alignfreeze.errors import AlignfreezeError

WEIGHTINGS = ("uniform", "ucb", "meta", "meta_closed")
#: Batches drawn with one set of probabilities before the weights are updated, when
#: ``weighting_every`` is not given: the reference's argparse default 5 for UCB
#: (``controlled_realignment.py`` lines 493-497, which its README's UCB command keeps) and
#: the 10 of its meta-learning runs (folder ``xt_afri__weighted__innerb10__metalr1e-3``).
DEFAULT_EVERY = {"ucb": 5, "meta": 10, "meta_closed": 10}
#: A UCB arm never pulled scores this much above the best pulled one (epoch_loop.py 935-954).
UNPULLED_BONUS = 10.0


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(scores, dtype=float) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


class LanguageWeights:
    """Sampling probabilities over ``names`` (the language pairs), updated from the losses
    reported with :meth:`observe`. The base class is uniform and never changes."""

    #: Whether the weights are learned before realignment (:meth:`learn`).
    learns_first = False

    def __init__(self, names: list[str], every: int = 1, temperature: float = 1.0):
        self.names, self.n = list(names), len(names)
        self.every, self.temperature = every, temperature
        self.batches = 0  # batches observed
        self.log: list[dict] = []
        self._pending: list[tuple[int, torch.Tensor | float]] = []
        self._probs = np.full(self.n, 1.0 / self.n)

    def probabilities(self) -> np.ndarray:
        """The probabilities the next batch's language is drawn with."""
        return self._probs

    def observe(self, index: int, loss: torch.Tensor | float) -> None:
        """The loss of a batch of language pair ``index``. Kept on its device and read every
        ``every`` batches (reading a GPU value each step would wait for the device)."""
        self._pending.append((index, loss.detach() if isinstance(loss, torch.Tensor) else loss))
        self.batches += 1
        if len(self._pending) >= self.every:
            group = [(i, float(v)) for i, v in self._pending]
            self._pending = []
            self._update(group)

    def _update(self, group: list[tuple[int, float]]) -> None:
        """Called with every ``every`` batches' ``(language index, loss)``."""

    def learn(self, draw: Callable[[int], object], batch_loss: Callable[[object], torch.Tensor], batches: int) -> None:
        """Phase 1 of the decoupled weightings: nothing for the others."""


class UCBWeights(LanguageWeights):
    """UCB over the language pairs, as the emnlp-2026 reference computes it
    (``multilingual_eval/training/epoch_loop.py`` lines 935-954, 979-1013, 1034-1039):

    * reward of a language: the mean realignment loss of its batches (a higher loss is
      sampled more); ``n_i``: the batches drawn from it; ``t``: all batches;
    * ``score_i = mean_i + c * sqrt(ln(max(t, 1)) / max(n_i, 1))`` (the reference's
      ``clamp(min=1)``, though its docstring says ``n_i + 1``);
    * a language never drawn scores the best drawn score + 10 (``1 + 10`` when none is), so
      the start is uniform;
    * probabilities ``softmax(score / temperature)``, recomputed every ``every`` batches.

    Args:
        names: the language pairs.
        exploration: ``c`` (the reference's argparse default 1.0,
            ``controlled_realignment.py`` lines 465-469; its paper runs used 0.1, README.md
            line 115).
        every: batches between updates (reference default 5).
        temperature: softmax temperature (reference default 1, lines 534-539).

    Example::

        from alignfreeze.realign.weighting import UCBWeights
        ucb = UCBWeights(["en-fr", "en-de"], exploration=1.0, every=1)
        ucb.observe(0, 2.0)
        ucb.probabilities()   # en-de, never drawn, is now almost certain
    """

    def __init__(self, names: list[str], exploration: float = 1.0, every: int = 5, temperature: float = 1.0):
        super().__init__(names, every, temperature)
        self.exploration = exploration
        self.cumulative = np.zeros(self.n)
        self.pulls = np.zeros(self.n)
        self.rounds = 0
        self._probs = softmax(self.scores(), temperature)

    def scores(self) -> np.ndarray:
        pulls = np.maximum(self.pulls, 1)
        scores = self.cumulative / pulls + self.exploration * np.sqrt(math.log(max(self.rounds, 1)) / pulls)
        pulled = self.pulls > 0
        best = scores[pulled].max() if pulled.any() else 1.0
        return np.where(pulled, scores, best + UNPULLED_BONUS)

    def _update(self, group: list[tuple[int, float]]) -> None:
        for index, loss in group:
            self.cumulative[index] += loss
            self.pulls[index] += 1
            self.rounds += 1
        scores = self.scores()
        self._probs = softmax(scores, self.temperature)
        self.log.append(
            {
                "batch": self.batches,
                "probabilities": dict(zip(self.names, self._probs.tolist())),
                "scores": dict(zip(self.names, scores.tolist())),
                "pulls": dict(zip(self.names, self.pulls.astype(int).tolist())),
                "mean_rewards": dict(zip(self.names, (self.cumulative / np.maximum(self.pulls, 1)).tolist())),
            }
        )


class MetaWeights(LanguageWeights):
    """Decoupled meta-learned weights, as the emnlp-2026 reference learns them
    (``multilingual_eval/training/decoupled_weighted_selection.py`` lines 74-123,
    ``epoch_loop.py`` lines 590-893, the meta loss of ``realignment_loss.py`` lines 376-389):

    * phase 1 (:meth:`learn`), the model frozen: logits ``w`` start at ones
      (``epoch_loop.py`` lines 659-661), ``p = softmax(w / temperature)``; groups of
      ``every`` batches are drawn with ``p`` and their losses computed (detached); the meta
      loss of a group is ``sum_b p[l_b] L_b / sum_b p[l_b]`` over its batches ``b`` (the
      reference's "micro" loss, over batches here, over examples there); ``w`` takes one Adam
      step of gradient *ascent* on it (lines 839-854), so languages whose loss is above the
      weighted mean gain weight. A last partial group updates nothing;
    * phase 2: the model realigns on batches drawn with the fixed ``p``.

    ``closed=True`` (the reference's ``decoupled_closed``): phase 1 draws the languages in
    turn and sets ``w`` to each language's mean loss.

    Args:
        names: the language pairs.
        learning_rate: Adam's, on ``w`` (the reference's argparse default 1e-2,
            ``controlled_realignment.py`` lines 499-504; its XLM-R runs used 1e-3).
        every: batches per meta update (the reference's runs: 10).
        temperature: softmax temperature.

    Example::

        meta = MetaWeights(["en-fr", "en-de"], every=2)
        meta.learn(draw, batch_loss, batches=100)   # draw(k) -> a batch of pair k; batch_loss(batch) -> its loss
        meta.probabilities()
    """

    learns_first = True

    def __init__(
        self,
        names: list[str],
        learning_rate: float = 1e-2,
        every: int = 10,
        temperature: float = 1.0,
        closed: bool = False,
        seed: int = 0,
    ):
        super().__init__(names, every, temperature)
        self.learning_rate, self.closed = learning_rate, closed
        self.logits = torch.ones(self.n, dtype=torch.float64, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.logits], lr=learning_rate)
        self.rng = np.random.default_rng([seed, 1])
        self.learned = False

    def _p(self) -> torch.Tensor:
        return torch.softmax(self.logits / self.temperature, dim=0)

    def meta_step(self, group: list[tuple[int, float]]) -> float:
        """One meta update on a group's ``(language index, loss)``: the meta loss, ascended."""
        p = self._p()
        index = torch.tensor([i for i, _ in group])
        losses = torch.tensor([v for _, v in group], dtype=torch.float64)
        meta_loss = (p[index] * losses).sum() / p[index].sum()
        self.optimizer.zero_grad()
        (-meta_loss).backward()
        self.optimizer.step()
        return float(meta_loss.detach())

    def learn(self, draw: Callable[[int], object], batch_loss: Callable[[object], torch.Tensor], batches: int) -> None:
        """Phase 1 over ``batches`` batches: ``draw(k)`` gives a batch of language pair ``k``,
        ``batch_loss(batch)`` its loss (computed here without gradients)."""
        if self.learned:
            return
        with torch.no_grad():
            losses = []
            for b in range(batches):
                k = b % self.n if self.closed else int(self.rng.choice(self.n, p=self._p().detach().numpy()))
                losses.append((k, float(batch_loss(draw(k)))))
                if self.closed or len(losses) < self.every:
                    continue
                with torch.enable_grad():
                    meta_loss = self.meta_step(losses)
                self._record(b + 1, {"meta_loss": meta_loss})
                losses = []
            if self.closed:
                means = [
                    np.mean([v for k, v in losses if k == i]) if any(k == i for k, _ in losses) else 0.0
                    for i in range(self.n)
                ]
                self.logits.copy_(torch.tensor(means, dtype=torch.float64))
                self._record(batches, {})
        self._probs = self._p().detach().numpy().copy()
        self.learned = True

    def _record(self, batch: int, extra: dict) -> None:
        self.log.append(
            {
                "phase": "weights",
                "batch": batch,
                **extra,
                "weights": dict(zip(self.names, self.logits.detach().tolist())),
                "probabilities": dict(zip(self.names, self._p().detach().tolist())),
            }
        )

    def probabilities(self) -> np.ndarray:
        if not self.learned:
            raise AlignfreezeError(
                "language_weighting meta learns its weights before realigning: it needs a realignment before "
                "fine-tuning (method before)"
            )
        return self._probs


def make_weighting(config, names: list[str], seed: int = 0) -> LanguageWeights | None:
    """The weighting a :class:`~alignfreeze.realign.config.RealignConfig` names, over the
    language pairs ``names``; None for ``uniform`` (the pairs in turn)."""
    method = config.language_weighting
    if method == "uniform":
        return None
    if config.batching != "by_pair":
        raise AlignfreezeError(
            f"language_weighting {method} chooses the language pair of each batch: it needs batching by_pair "
            f"(got {config.batching})"
        )
    every = config.weighting_every or DEFAULT_EVERY[method]
    if method == "ucb":
        return UCBWeights(names, config.weighting_exploration, every, config.weighting_temperature)
    return MetaWeights(
        names, config.weighting_learning_rate, every, config.weighting_temperature, method == "meta_closed", seed
    )
