"""The realignment loop ("before": realign, then fine-tune) and the joint-training hook
("during": add the realignment loss to fine-tuning).

:class:`RealignmentObjective` owns everything realignment adds to a model -- the batch
stream, the projection head and the loss -- and computes the loss of the next batch.
:func:`realign` runs it alone for a number of steps with AdamW at a constant learning
rate, freezing per the config; fine-tuning can call :meth:`RealignmentObjective.loss`
once per optimiser step and add ``0.1 *`` that to its task loss.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.data.fingerprints import SENTENCES_FILE, SentenceSet
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_directory
from alignfreeze.progress import progress_bar
from alignfreeze.realign.batches import PairBatch, RoundRobinBatches, encode_corpus
from alignfreeze.realign.config import RealignConfig
from alignfreeze.realign.freeze import frozen, frozen_parameters
from alignfreeze.realign.loss import ContrastiveAlignmentLoss
from alignfreeze.realign.projection import projection_head

#: Weight of the realignment loss added to the task loss in joint ("during") training.
JOINT_COEFFICIENT = 0.1


def encoder_of(model: nn.Module) -> nn.Module:
    """The bare encoder inside a task model (``model.base_model``), or the model itself."""
    return getattr(model, "base_model", model)


def word_vectors(hidden: torch.Tensor, token_index: torch.Tensor, token_word: torch.Tensor, n_words: int) -> torch.Tensor:
    """Average the gathered token vectors per word (one token per word for first-subword)."""
    flat = hidden.reshape(-1, hidden.shape[-1])
    sums = torch.zeros(n_words, flat.shape[-1], dtype=flat.dtype, device=flat.device)
    sums.index_add_(0, token_word, flat[token_index])
    counts = torch.zeros(n_words, dtype=flat.dtype, device=flat.device)
    counts.index_add_(0, token_word, torch.ones_like(token_word, dtype=flat.dtype))
    return sums / counts.clamp(min=1).unsqueeze(-1)


class RealignmentObjective(nn.Module):
    """Batch stream + projection head + contrastive loss for one model."""

    def __init__(self, model: nn.Module, tokenizer, corpora: Sequence[AlignedCorpus], config: RealignConfig):
        super().__init__()
        if not corpora:
            raise AlignfreezeError("realignment needs at least one aligned-pairs corpus")
        self.config = config
        datasets: dict[str, list] = {}
        for corpus in corpora:
            name = f"{corpus.src_lang}-{corpus.tgt_lang}"
            while name in datasets:
                name += "'"
            datasets[name] = encode_corpus(corpus, tokenizer, config.max_length, config.word_vector)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.batches = RoundRobinBatches(datasets, config.batch_size, pad_id, config.seed, config.length_bucketing)
        hidden = encoder_of(model).config.hidden_size
        # Seeded here so that the head's initialisation depends on the run's seed only.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.head = projection_head(config.projection, hidden, config.projection_dim)
        self.criterion = ContrastiveAlignmentLoss(config.temperature, config.mode)
        self.n_pairs = {name: len(data) for name, data in datasets.items()}

    def loss(self, model: nn.Module, batch: PairBatch | None = None) -> torch.Tensor:
        """The realignment loss of the next batch (or of ``batch``)."""
        encoder = encoder_of(model)
        device = next(encoder.parameters()).device
        batch = (batch or next(self.batches)).to(device)
        self.head.to(device)
        penultimate = self.config.layer == "penultimate"
        out = encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=penultimate)
        hidden = out.hidden_states[-2] if penultimate else out.last_hidden_state
        src = word_vectors(hidden, batch.src_token_index, batch.src_token_word, batch.n_src_words)
        tgt = word_vectors(hidden, batch.tgt_token_index, batch.tgt_token_word, batch.n_tgt_words)
        return self.criterion(self.head(src), self.head(tgt), batch.links)


def make_adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    params = [p for p in params if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # fused kernels unavailable for this device/dtype
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


@dataclass
class RealignResult:
    model: nn.Module
    losses: list[float]
    frozen_parameters: int
    trainable_parameters: int
    seconds: float
    pairs_per_language: dict[str, int] = field(default_factory=dict)
    #: Fingerprints of every realignment sentence, saved with the model so that the
    #: alignment analysis can leave them out (no leakage).
    sentences: SentenceSet = field(default_factory=SentenceSet)


def realign(
    model: nn.Module,
    tokenizer,
    corpora: Sequence[AlignedCorpus],
    config: RealignConfig,
    progress: bool = True,
) -> RealignResult:
    """Realign ``model`` in place for ``config.steps`` steps and return it with its losses.

    Frozen parameters (``config.freeze``) are excluded from the optimiser and restored to
    trainable afterwards. A NaN or infinite loss stops the run with an error naming the step.
    """
    from transformers import set_seed

    set_seed(config.seed)  # dropout and any other torch randomness
    objective = RealignmentObjective(model, tokenizer, corpora, config)
    losses: list[float] = []
    t0 = time.perf_counter()
    model.train()
    with frozen(encoder_of(model), config.freeze) as spec:
        n_frozen = sum(p.numel() for p in frozen_parameters(encoder_of(model), spec))
        trainable = [p for p in model.parameters() if p.requires_grad] + list(objective.head.parameters())
        optimizer = make_adamw(trainable, config.learning_rate, config.weight_decay)
        bar = progress_bar(range(1, config.steps + 1), desc=f"realign ({spec})", disable=not progress)
        for step in bar:
            loss = objective.loss(model)
            value = loss.item()
            if not math.isfinite(value):
                raise AlignfreezeError(f"realignment loss is {value} at step {step}; stopped (nothing written)")
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(value)
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    model.eval()
    return RealignResult(
        model, losses, n_frozen, sum(p.numel() for p in trainable), time.perf_counter() - t0, dict(objective.n_pairs),
        SentenceSet.of(corpora),
    )


def save_realigned(result: RealignResult, tokenizer, config: RealignConfig, out: str | Path) -> Path:
    """Write the realigned encoder (HF format), ``realign.json`` and the fingerprints of the
    realignment sentences (``realign-sentences.txt``) atomically to ``out``."""
    out = Path(out)
    with atomic_directory(out) as tmp:
        result.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        summary = {
            "config": json.loads(config.model_dump_json()),
            "losses": result.losses,
            "frozen_parameters": result.frozen_parameters,
            "trainable_parameters": result.trainable_parameters,
            "seconds": result.seconds,
            "pairs_per_language": result.pairs_per_language,
        }
        (tmp / "realign.json").write_text(json.dumps(summary, indent=2) + "\n")
        result.sentences.save(tmp / SENTENCES_FILE)
    return out


def realign_from_config(config: RealignConfig, out: str | Path | None = None, progress: bool = True) -> RealignResult:
    """Load the model and the aligned pairs named in ``config``, realign, optionally save."""
    from transformers import AutoModel, AutoTokenizer

    from alignfreeze.models import resolve_model

    if not config.pairs:
        raise AlignfreezeError("no --pairs file given")
    corpora = [AlignedCorpus.load(p) for p in config.pairs]  # validates every file before any training
    path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    result = realign(model, tokenizer, corpora, config, progress)
    if out is not None:
        save_realigned(result, tokenizer, config, out)
    return result
