"""The realignment loop ("before": realign, then fine-tune) and the joint-training hook
("during": add the realignment loss to fine-tuning).

:class:`RealignmentObjective` owns everything realignment adds to a model -- the batch
stream, the projection head and the loss -- and computes the loss of the next batch.
:func:`realign` runs it alone for a number of steps at a constant learning rate, freezing
per the given :class:`~alignfreeze.realign.freeze.FreezeSpec`; fine-tuning calls
:meth:`RealignmentObjective.loss` once per optimiser step and adds ``0.1 *`` that to its
task loss.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from alignfreeze.align.corpus import AlignedCorpus
from alignfreeze.align.sources import CorpusSource, PairSource
from alignfreeze.cache import cached, content_key, tokenizer_key
from alignfreeze.data.fingerprints import SENTENCES_FILE, SentenceSet
from alignfreeze.data.subwords import TokenizationSettings
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_directory, check_replaceable
from alignfreeze.models.adapters import AdapterSettings, add_adapter, fixed_by_adapter, has_adapter, save_adapter
from alignfreeze.models.layers import encoder_of, num_layers
from alignfreeze.optim import finalize, make_optimizer, read_losses, row_sparse_training
from alignfreeze.progress import progress_bar
from alignfreeze.realign.batches import PairBatch, encode_pairs
from alignfreeze.realign.config import MATCH, RealignConfig, resolve_layers, resolve_word_vector
from alignfreeze.realign.freeze import (
    FreezeSchedule,
    FreezeSpec,
    frozen,
    frozen_parameters,
    gradual_unfreezing,
    parse_schedule,
)
from alignfreeze.realign.objectives import objective_class
from alignfreeze.realign.objectives.base import RealignmentLoss
from alignfreeze.realign.stream import PairStream, RealignmentBatches
from alignfreeze.realign.weighting import make_weighting

#: Weight of the realignment loss added to the task loss in joint ("during") training.
JOINT_COEFFICIENT = 0.1


class RealignmentObjective(nn.Module):
    """The realignment loss of one model as a stream of batches: the batch order and the
    objective (``config.objective``, a :class:`~alignfreeze.realign.objectives.base.RealignmentLoss`
    with its projection heads) at the layers of ``config`` (:func:`resolve_layers`).
    :func:`realign` steps it alone; :func:`finetune` adds it to the task loss for ``during``
    realignment. ``head`` is the objective's module: its parameters (heads, maps) train with
    the model.

    ``corpora`` are :class:`~alignfreeze.align.corpus.AlignedCorpus` objects (in memory) or
    :class:`~alignfreeze.align.sources.PairSource` objects (a parallel file aligned a chunk at
    a time as it is drawn); either way pairs are tokenised only when drawn
    (:mod:`alignfreeze.realign.stream`). ``seed`` fixes the sampling, the batch order and the
    head's initialisation; ``tokenization`` says how words become inputs.

    Example::

        objective = af.RealignmentObjective(model, tokenizer, [corpus], af.RealignConfig(), seed=0)
        loss = objective.loss(model)       # one batch's loss, on the model's device
        objective.batches.summary()        # sentence pairs drawn so far, and distinct
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        corpora: Sequence[AlignedCorpus | PairSource],
        config: RealignConfig,
        seed: int = 0,
        tokenization: TokenizationSettings | None = None,
    ):
        super().__init__()
        if not corpora:
            raise AlignfreezeError("realignment needs at least one aligned-pairs corpus")
        self.config = config
        linked = objective_class(config.objective).needs_links
        tokenization = tokenization or TokenizationSettings()
        tokenizer_digest = tokenizer_key(tokenizer)
        settings = (config.max_length, resolve_word_vector(config, model), tokenization.lone_boundary_pieces)
        if not linked:  # only then, so that the chunks cached before this setting stay valid
            settings += ("unlinked",)

        def encode(pairs: list) -> list:
            return encode_pairs(pairs, tokenizer, *settings[:3], linked=linked)

        def encode_cached(pairs: list) -> list:
            # A chunk drawn again (another method or model of the grid with this tokenizer) is read back.
            if not pairs:
                return []
            key = content_key(tokenizer_digest, [(p.index, p.src, p.tgt, p.links) for p in pairs], *settings)
            return cached("realign-chunks", key, lambda: encode(pairs))

        streams, names = [], set()
        for position, corpus in enumerate(corpora):
            source = corpus if isinstance(corpus, PairSource) else CorpusSource(corpus)
            if linked and not source.linked:
                raise AlignfreezeError(
                    f"objective {config.objective} learns from word links, and {source.describe()} has none "
                    "(give an aligner)"
                )
            name = source.name
            while name in names:
                name += "'"
            names.add(name)
            streams.append(
                PairStream(
                    name,
                    len(source),
                    source.aligned,
                    encode_cached if config.sampling == "uniform" else encode,
                    source.chunk_pairs,
                    config.sampling,
                    config.shuffle_buffer,
                    seed,
                    position,
                )
            )
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._build(model, streams, pad_id, seed)

    @classmethod
    def from_encoded(
        cls, model: nn.Module, datasets: dict[str, list], pad_id: int, config: RealignConfig, seed: int = 0
    ) -> "RealignmentObjective":
        """The objective over sentence pairs already encoded (:func:`encode_corpus`), by
        language pair (benchmarks and callers with their own tokenisation)."""
        objective = cls.__new__(cls)
        nn.Module.__init__(objective)
        objective.config = config
        streams = [
            PairStream(
                name,
                len(data),
                lambda lines, data=data: [data[i] for i in lines],
                lambda pairs: pairs,
                len(data),
                config.sampling,
                config.shuffle_buffer,
                seed,
                position,
            )
            for position, (name, data) in enumerate(datasets.items())
        ]
        objective._build(model, streams, pad_id, seed)
        return objective

    def _build(self, model: nn.Module, streams: list[PairStream], pad_id: int, seed: int) -> None:
        config = self.config
        self.batches = RealignmentBatches(
            streams, config.batch_size, pad_id, seed, config.length_bucketing, config.batching
        )
        self.batches.weighting = make_weighting(config, [s.name for s in streams], seed)  # realign/weighting.py
        encoder = encoder_of(model)
        try:
            self.layers = resolve_layers(config, num_layers(encoder))
        except ValueError as exc:
            raise AlignfreezeError(str(exc)) from None
        loss_class = objective_class(config.objective)
        # Seeded here so that the heads' initialisation depends on the run's seed only.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.head: RealignmentLoss = loss_class(
                config, encoder.config.hidden_size, self.layers, [s.name for s in streams]
            )
        self._top = num_layers(encoder)
        # The encoder as realignment found it, for an objective regularised towards it;
        # held outside the module tree, so that it is neither trained nor saved.
        self._initial = [None]
        if loss_class.needs_initial_model:
            initial = copy.deepcopy(encoder).eval()
            initial.requires_grad_(False)
            self._initial = [initial]

    @property
    def n_pairs(self) -> dict[str, int]:
        """Sentence pairs (lines) of each language pair's corpus."""
        return {s.name: s.n_lines for s in self.batches.streams}

    def _hidden_states(self, encoder: nn.Module, batch: PairBatch) -> dict[int, torch.Tensor]:
        """The batch's hidden states at each of the objective's layers (hidden-state indices)."""
        if self.layers == [self._top]:  # the top layer alone: no other layer's output is kept
            out = encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            return {self._top: out.last_hidden_state}
        out = encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
        return {layer: out.hidden_states[layer] for layer in self.layers}

    def loss(self, model: nn.Module, batch: PairBatch | None = None) -> torch.Tensor:
        """The realignment loss of the next batch (or of ``batch``)."""
        encoder = encoder_of(model)
        device = next(encoder.parameters()).device
        batch = (batch or next(self.batches)).to(device)
        self.head.to(device)
        hidden = self._hidden_states(encoder, batch)
        initial = None
        if self._initial[0] is not None:
            self._initial[0].to(device)
            with torch.no_grad():
                initial = self._hidden_states(self._initial[0], batch)
        loss = self.head(hidden, batch, initial)
        self.batches.observe(batch.language_pair, loss)  # the language weighting's reward (realign/weighting.py)
        return loss


@dataclass
class RealignResult:
    model: nn.Module
    losses: list[float]
    frozen_parameters: int
    trainable_parameters: int
    seconds: float
    pairs_per_language: dict[str, int] = field(default_factory=dict)
    #: Fingerprints of every sentence realignment drew, saved with the model so that the
    #: alignment analysis can leave them out (no leakage).
    sentences: SentenceSet = field(default_factory=SentenceSet)
    #: Sentence pairs drawn and distinct, per language pair (:meth:`RealignmentBatches.summary`).
    drawn: dict = field(default_factory=dict)
    #: The lines drawn, per language pair.
    seen: dict = field(default_factory=dict)
    #: ``realignment.language_weighting``: the weights over time (realign/weighting.py).
    language_weights: list[dict] = field(default_factory=list)


def realign(
    model: nn.Module,
    tokenizer,
    corpora: Sequence[AlignedCorpus],
    config: RealignConfig,
    freeze: FreezeSpec | str = "none",
    seed: int = 0,
    tokenization: TokenizationSettings | None = None,
    steps: int | None = None,
    learning_rate: float | None = None,
    progress: bool = True,
    precision: str = "auto",
    on_losses: Callable[[int, list[float], list[float]], None] | None = None,
    freeze_schedule: FreezeSchedule | str | None = None,
) -> RealignResult:
    """Realign ``model`` in place with ``config.objective`` (by default the contrastive
    word-alignment loss: Wu & Dredze, 2020; Gaschi et al., 2023; the others are in
    :mod:`alignfreeze.realign.objectives`), with the layers ``freeze`` names held fixed
    (AlignFreeze: ``front`` or ``back``, Bakos, Gaschi et al., NAACL 2025); return it with
    its losses. It runs ``config.steps`` steps, which ``config.budget`` (sentence pairs) sets
    when given.

    Args:
        model: an encoder or a task model.
        tokenizer: its fast tokenizer.
        corpora: sentence pairs, one :class:`AlignedCorpus` or
            :class:`~alignfreeze.align.sources.PairSource` per language pair (word-aligned,
            unless the objective needs no links).
        config: the method (:class:`RealignConfig`).
        freeze: a :class:`FreezeSpec` or its text. Frozen parameters are excluded from the
            optimiser and restored to trainable afterwards.
        seed: batch order, head initialisation and dropout.
        tokenization: how words become inputs (:class:`TokenizationSettings`).
        steps, learning_rate: required when ``config`` says ``match`` (a run passes its
            fine-tuning values); otherwise they override the config.
        precision: see :mod:`alignfreeze.precision`.
        on_losses: called with ``(first step, losses, learning rates)`` each time the losses
            are read from the device (every few steps and at the end): an experiment tracker's feed.
        freeze_schedule: a :class:`FreezeSchedule` (or ``bottom_up:K`` text): the layers
            ``freeze`` names are unfrozen one every K steps. They are in the optimiser from
            the start, without a gradient (so without an update) while frozen.

    Returns:
        :class:`RealignResult`: the model, its losses per step, seconds.

    A NaN or infinite loss stops the run with an error naming the step.

    Example::

        tokenizer, model = af.load_tokenizer("e5-small"), af.load_model("e5-small")
        result = af.realign(model, tokenizer, [corpus], af.RealignConfig(steps=100), freeze="front")
        result.losses[-1]
    """
    from transformers import set_seed

    from alignfreeze.precision import Precision

    freeze = FreezeSpec.parse(freeze) if isinstance(freeze, str) else freeze  # a typo fails before any work
    freeze_schedule = parse_schedule(freeze_schedule)
    if steps is None:
        if config.steps == MATCH:
            raise AlignfreezeError("realignment steps 'match' need a fine-tuning run to match (give a number of steps)")
        steps = int(config.steps)
    if learning_rate is None:
        try:
            learning_rate = config.resolved_learning_rate()
        except ValueError as exc:
            raise AlignfreezeError(str(exc)) from None
    set_seed(seed)  # dropout and any other torch randomness
    objective = RealignmentObjective(model, tokenizer, corpora, config, seed, tokenization)
    amp = Precision(precision, next(model.parameters()).device)
    step_losses: list[torch.Tensor] = []  # on the device: read in bunches (optim.read_losses)
    t0 = time.perf_counter()
    model.train()
    objective.batches.learn_weights(lambda batch: objective.loss(model, batch), steps)  # meta weights: phase 1
    with (
        frozen(encoder_of(model), freeze) as spec,
        row_sparse_training(model) as embedding,
        gradual_unfreezing(encoder_of(model), spec, freeze_schedule) as unfreezing,
    ):
        # What the spec holds fixed that would train otherwise (under an adapter: its matrices).
        fixed = fixed_by_adapter(model)
        n_frozen = sum(p.numel() for p in frozen_parameters(encoder_of(model), spec) if id(p) not in fixed)
        trainable = [p for p in model.parameters() if p.requires_grad] + list(objective.head.parameters())
        optimizer = make_optimizer(trainable, learning_rate, config.weight_decay, config.optimizer, [embedding])
        bar = progress_bar(range(1, steps + 1), desc=f"realign ({spec})", disable=not progress)
        for step in bar:
            if unfreezing is not None:
                unfreezing.apply(step)
            with amp.autocast():
                loss = objective.loss(model)
            amp.backward(loss)
            amp.step(optimizer)
            optimizer.zero_grad(set_to_none=True)
            step_losses.append(loss.detach())
            recent = read_losses(
                step_losses, step, steps, "realignment loss is {value} at step {step}; stopped (nothing written)"
            )
            if recent:
                bar.set_postfix(loss=f"{recent[-1]:.3f}", refresh=False)
                if on_losses:
                    rate = optimizer.param_groups[0]["lr"]  # constant: realignment has no schedule
                    on_losses(step - len(recent) + 1, recent, [rate] * len(recent))
        finalize(optimizer)
    losses = torch.stack(step_losses).float().tolist()
    model.eval()
    return RealignResult(
        model,
        losses,
        n_frozen,
        sum(p.numel() for p in trainable),
        time.perf_counter() - t0,
        dict(objective.n_pairs),
        objective.batches.sentences,
        objective.batches.summary(),
        objective.batches.seen(),
        objective.batches.weighting.log if objective.batches.weighting else [],
    )


def _legacy_checkpoint(folder: Path) -> bool:
    """A model folder alignfreeze wrote before folders carried its marker: a realigned
    encoder (``realign.json``) or a model in a run's folder (``runs/<run_id>/``)."""
    in_run = (folder.parent / "config.yaml").is_file() and folder.parent.parent.name == "runs"
    return (folder / "realign.json").is_file() or (in_run and (folder / "config.json").is_file())


def save_checkpoint(
    model,
    tokenizer,
    folder: str | Path,
    sentences: SentenceSet | None = None,
    files: dict[str, str] | None = None,
    kind: str = "model",
) -> Path:
    """A model and its tokenizer (safetensors; a model with an adapter: the adapter and its
    head, :func:`alignfreeze.models.adapters.save_adapter`), the fingerprints of its realignment
    ``sentences`` (``realign-sentences.txt``: ``measure-alignment`` leaves them out) and any
    other text ``files``, written to ``folder`` whole or not at all, with alignfreeze's marker
    (``kind`` of output). An existing ``folder`` is replaced only when alignfreeze wrote it
    (:func:`alignfreeze.fileio.check_replaceable`)."""
    folder = Path(folder)
    with atomic_directory(folder, kind, owned=_legacy_checkpoint) as tmp:
        if has_adapter(model):  # the adapter and the head; the base model is read from where it was
            save_adapter(model, tmp)
        else:
            model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if sentences is not None:
            sentences.save(tmp / SENTENCES_FILE)
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
    return folder


def save_realigned(result: RealignResult, tokenizer, out: str | Path, summary: dict | None = None) -> Path:
    """Write the realigned encoder (HF format), ``realign.json`` (``summary``: what was run,
    plus the losses and parameter counts) and the fingerprints of the realignment sentences
    (``realign-sentences.txt``) atomically to ``out``."""
    record = {
        **(summary or {}),
        "losses": result.losses,
        "frozen_parameters": result.frozen_parameters,
        "trainable_parameters": result.trainable_parameters,
        "seconds": result.seconds,
        "pairs_per_language": result.pairs_per_language,
        "sentence_pairs": result.drawn,
    }
    files = {"realign.json": json.dumps(record, indent=2) + "\n"}
    return save_checkpoint(result.model, tokenizer, out, result.sentences, files, kind="realigned")


def realign_files(
    model_name: str,
    pairs: Sequence[str | Path],
    config: RealignConfig,
    *,
    freeze: str = "none",
    seed: int = 0,
    tokenization: TokenizationSettings | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    precision: str = "auto",
    device: str | None = None,
    freeze_schedule: str | None = None,
    adapter: AdapterSettings | dict | str | None = None,
) -> RealignResult:
    """Load ``model_name`` and the aligned-pairs files ``pairs``, realign (:func:`realign`),
    and optionally save to ``out`` with a ``realign.json`` naming the model, files, freeze,
    seed and config, and the realignment sentences (so that alignment measurement leaves them
    out). With ``adapter`` (``{type: lora, r: 8}``, or ``"lora"``: its defaults), only an adapter
    on the encoder is trained (:mod:`alignfreeze.models.adapters`), and ``out`` holds the
    adapter. What ``alignfreeze realign`` does.

    Example::

        af.realign_files("e5-small", ["un.en-fr.jsonl"], af.RealignConfig(steps=200), freeze="front", out="realigned/")
    """
    from alignfreeze.models.loading import load_model, load_tokenizer

    if not pairs:
        raise AlignfreezeError("pairs is empty: no aligned-pairs file given")
    if out is not None:  # refused now, not after the training: an --out alignfreeze did not write
        check_replaceable(out, "--out", _legacy_checkpoint)
    FreezeSpec.parse(freeze)  # a typo fails before the model loads
    schedule = parse_schedule(freeze_schedule)
    objective_class(config.objective)  # and so does an unknown objective
    if adapter is not None and not isinstance(adapter, AdapterSettings):
        try:
            adapter = AdapterSettings.model_validate(adapter)
        except ValueError as exc:  # pydantic's ValidationError
            raise AlignfreezeError(f"adapter {adapter!r}: {exc.errors()[0]['msg']}") from None
    corpora = [AlignedCorpus.load(p) for p in pairs]  # validates every file before any training
    tokenizer = load_tokenizer(model_name)
    model = load_model(model_name, device=device)
    if adapter is not None:
        add_adapter(model, adapter, model_name)
    tokenization = tokenization or TokenizationSettings()
    result = realign(
        model,
        tokenizer,
        corpora,
        config,
        freeze,
        seed,
        tokenization,
        progress=progress,
        precision=precision,
        freeze_schedule=schedule,
    )
    if out is not None:
        summary = {
            "model": model_name,
            "pairs": [str(p) for p in pairs],
            "freeze": str(freeze),
            **({"freeze_schedule": schedule.model_dump()} if schedule else {}),
            "seed": seed,
            "precision": precision,
            # the word vector as used: null resolved by the model's kind
            "config": config.model_copy(update={"word_vector": resolve_word_vector(config, model)}).model_dump(
                mode="json"
            ),
            "tokenization": tokenization.model_dump(mode="json"),
            **({"adapter": adapter.model_dump(mode="json")} if adapter is not None else {}),
        }
        save_realigned(result, tokenizer, out, summary)
    return result
