"""The typed description of a realignment method: every setting of the contrastive
realignment, and nothing else (no model, no data, no freeze spec, no seed -- those belong
to the run or the command that realigns).

This class is the only place where a realignment setting and its default are written. A
run embeds it as its ``realignment`` (:class:`alignfreeze.experiments.config.RunConfig`),
``alignfreeze realign`` and ``alignfreeze sweep-freeze`` derive their options from its
fields, and a notebook builds it directly::

    import alignfreeze as af
    config = af.RealignConfig(steps=100, layer="penultimate", batching="mixed")

Defaults are ours (the "corrected" protocol); ``protocol: reference`` in an experiment sets
the values of the AlignFreeze authors' code (see the README's protocol table).
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alignfreeze.schema import added_setting

#: ``steps: match`` / ``learning_rate: match``: take the value from the run's fine-tuning.
MATCH = "match"
#: The objective of every run written before objectives were a setting (today's loss).
DEFAULT_OBJECTIVE = "contrastive_word"
#: ``realignment.layers`` by name (see :func:`resolve_layers`).
NAMED_LAYERS = ("top", "penultimate", "middle", "all")


class RealignConfig(BaseModel):
    """Contrastive realignment, as a method: every setting of the loss, its batches and its
    optimiser, and nothing about the model, data, freeze spec or seed.

    The loss is InfoNCE over the vectors of aligned words (Wu & Dredze, 2020), as in Gaschi
    et al. (Findings of ACL 2023) and AlignFreeze (Bakos, Gaschi et al., NAACL 2025): each
    word's vector (its first subword) goes through a projection head trained with the loss
    and discarded afterwards, cosine similarities are divided by ``temperature``, and its
    translation must win against the other candidates of the batch (``strong``: both
    languages' words; ``weak``: the other language's).

    The loss itself is ``objective``, one of :data:`alignfreeze.realign.objectives.OBJECTIVES`
    (``contrastive_word``, the default, is the loss above; ``contrastive_sentence`` needs no
    aligner; ``l2``; ``linear_map``). Settings that belong to one objective say so in their
    description; the others ignore them.

    ``budget`` counts sentence pairs (``steps = ceil(budget / batch_size)``). The successor
    code's grids of 2,000 to 32,000 are steps at a batch of 128, not pairs
    (``final_run_script.sh`` ``$6 MAX_REALIGNMENT_STEPS``, ``$7 REALIGNMENT_BATCH_SIZE``): its
    16,000 is ``budget: 2048000`` at ``batch_size: 128``, not ``budget: 16000``.

    ``layers`` are hidden-state indices (:func:`resolve_layers`): 0 the embeddings, ``L`` the
    top layer's output.

    Args:
        steps, budget, batch_size, max_length, batching, length_bucketing: the batches.
        optimizer, learning_rate, weight_decay: the optimiser (constant learning rate).
        objective, temperature, mode, projection, projection_dim, projection_sharing,
            word_vector, layer, layers: the loss.
        sentence_pooling, regularization_weight, linear_map_loss: settings of one objective each.

    Example::

        config = af.RealignConfig(steps=100, temperature=0.05, projection="linear")
        af.realign(model, tokenizer, [corpus], config, freeze="front")
    """

    model_config = ConfigDict(extra="forbid")

    steps: Union[int, Literal["match"]] = Field(
        200,
        description="optimiser steps; 'match': as many as the run's fine-tuning optimiser steps (the reference "
        "code: one realignment batch per fine-tuning step)",
    )
    batch_size: int = Field(16, ge=1, description="sentence pairs per batch")
    max_length: int = Field(96, ge=8, description="subwords per sentence (longer ones are truncated)")
    batching: Literal["by_pair", "mixed"] = Field(
        "by_pair",
        description="'by_pair': each batch from one language pair, pairs taken in turn; 'mixed': language pairs "
        "interleaved inside each batch, one sentence pair from each in turn, all restarting when the smallest runs "
        "out (the reference's interleave_datasets)",
    )
    optimizer: Literal["adamw", "adam"] = Field("adamw", description="'adam' is torch's Adam (the reference's)")
    learning_rate: Union[float, Literal["match"]] = Field(
        2e-5, description="constant learning rate; 'match': the run's fine-tuning learning rate (the reference's)"
    )
    weight_decay: float = Field(0.01, ge=0, description="decoupled weight decay (AdamW) or L2 penalty (Adam)")
    temperature: float = Field(0.1, gt=0, description="InfoNCE temperature on cosine similarities")
    mode: Literal["strong", "weak"] = Field(
        "strong",
        description="candidates: every word of the batch, both languages ('strong'), or the other language only",
    )
    projection: Literal["mlp", "linear", "none"] = Field(
        "mlp", description="head trained with the loss, then discarded"
    )
    projection_dim: int = Field(128, ge=1, description="output size of the projection head")
    word_vector: Optional[Literal["first", "last", "mean"]] = Field(
        None,
        description="a word's vector: its first subword, its last, or the mean of its subwords. null: as the model "
        "calls for, first for an encoder and last for a decoder (a causal LM's first subword has not seen the rest of "
        "the word); a run's resolved config names the one used",
    )
    layer: Literal["top", "penultimate"] = Field(
        "top",
        description="'top': the last layer's output. 'penultimate' reproduces the reference code, which (through its "
        "hidden_states indexing) applied the loss to the output of layer L-1, leaving the top layer untouched",
    )
    objective: str = added_setting(
        DEFAULT_OBJECTIVE,
        description="the realignment loss: contrastive_word, contrastive_sentence (no aligner: aligner none), l2, "
        "linear_map, or one added with register_objective",
    )
    layers: Union[list[int], Literal["top", "penultimate", "middle", "all"], None] = added_setting(
        None,
        description="layers the loss is averaged over, as hidden-state indices: 0 the embeddings, i the output of "
        "transformer layer i (1..L, L the top; the alignment analysis' L<i>); or top (L), penultimate (L-1), middle "
        "(L//2), all (1..L). null: as layer says. Each listed layer has its own projection head",
    )
    projection_sharing: Literal["per_layer", "shared"] = added_setting(
        "per_layer",
        description="with several layers: one projection head per layer, or one shared by all (the reference's)",
    )
    budget: Optional[int] = added_setting(
        None,
        ge=1,
        description="sentence pairs to realign on instead of steps: steps = ceil(budget / batch_size) (give one of the "
        "two)",
    )
    sentence_pooling: Literal["mask", "reference_prefix"] = added_setting(
        "mask",
        description="objective contrastive_sentence: a sentence's vector, the mean over its real tokens (mask), or "
        "over its first n_words positions from [CLS] on (reference_prefix, the reference's)",
    )
    regularization_weight: float = added_setting(
        1.0,
        ge=0,
        description="objective l2: weight of the MSE between the hidden states of the source sentence and those of "
        "the initial model (Cao et al., 2020)",
    )
    linear_map_loss: Literal["mse", "contrastive"] = added_setting(
        "mse",
        description="objective linear_map: how the mapped vectors are compared, MSE or the contrastive word loss",
    )
    length_bucketing: bool = Field(False, description="batch sentence pairs of similar length together (less padding)")
    sampling: Literal["uniform", "shuffle_buffer"] = added_setting(
        "uniform",
        description="how sentence pairs are drawn from each realignment corpus, read and aligned lazily a chunk at a "
        "time: 'uniform': a random permutation of the whole corpus, reshuffled when it runs out; 'shuffle_buffer': the "
        "reference's stream, the corpus in file order through a shuffle buffer of shuffle_buffer pairs (the datasets "
        "library's algorithm), replayed in the same order at each restart",
    )
    shuffle_buffer: int = added_setting(
        10_000,
        ge=1,
        description="sampling 'shuffle_buffer': aligned sentence pairs held in the buffer (the reference's 10,000)",
    )
    freeze_matching: Literal["exact", "name_prefix"] = added_setting(
        "exact",
        description="'during' with a freeze spec: the parameters kept out of the realignment gradient. 'exact': the "
        "spec's layers; 'name_prefix': every parameter whose name starts with a frozen layer's, as the reference code "
        "matched them (training_loops.py 739, 758), so front on 12 layers also takes layers 10 and 11",
    )
    language_weighting: Literal["uniform", "ucb", "meta", "meta_closed"] = added_setting(
        "uniform",
        description="the language pair of each batch (batching by_pair): 'uniform': in turn; 'ucb': drawn by UCB on "
        "each pair's realignment loss; 'meta': drawn from weights learned first with the model frozen (the emnlp-2026 "
        "code's decoupled meta-learned weights); 'meta_closed': weights = each pair's mean loss over one pass "
        "(alignfreeze.realign.weighting)",
    )
    weighting_exploration: float = added_setting(1.0, ge=0, description="ucb: exploration coefficient c")
    weighting_every: int | None = added_setting(
        None,
        ge=1,
        description="batches between weight updates (default: 5 for ucb, 10 for meta)",
    )
    weighting_learning_rate: float = added_setting(1e-2, gt=0, description="meta: Adam's learning rate on the weights")
    weighting_temperature: float = added_setting(1.0, gt=0, description="softmax temperature of the weights")

    @field_validator("layers", mode="before")
    @classmethod
    def _layer_list(cls, value: Any) -> Any:
        # The command line and --set give "6" or "4,8".
        if isinstance(value, str) and value not in NAMED_LAYERS:
            try:
                return [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ValueError(f"use layer indices (4,8) or one of {', '.join(NAMED_LAYERS)}") from None
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        return value

    @field_validator("layers")
    @classmethod
    def _valid_layers(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("lists no layer")
            if min(value) < 0:
                raise ValueError("a layer index is 0 (the embeddings) or more")
            return list(dict.fromkeys(value))
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_of_each(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("layers") is not None and data.get("layer", "top") != "top":
            raise ValueError("give layer or layers, not both (layers: penultimate is layer: penultimate)")
        budget, steps = data.get("budget"), data.get("steps")
        if budget is not None and steps is not None:
            # A dumped config holds the steps its budget made; any other value is a conflict.
            batch_size = data.get("batch_size", cls.model_fields["batch_size"].default)
            if (
                not isinstance(budget, int)
                or not isinstance(batch_size, int)
                or steps != math.ceil(budget / batch_size)
            ):
                raise ValueError("give steps or budget, not both")
        return data

    @model_validator(mode="after")
    def _steps_of_budget(self) -> "RealignConfig":
        if self.budget is not None:
            self.steps = math.ceil(self.budget / self.batch_size)
        return self

    @field_validator("steps")
    @classmethod
    def _positive_steps(cls, value):
        if value != MATCH and value < 1:
            raise ValueError("steps must be at least 1 (or 'match')")
        return value

    @field_validator("learning_rate")
    @classmethod
    def _positive_learning_rate(cls, value):
        if value != MATCH and value <= 0:
            raise ValueError("learning_rate must be positive (or 'match')")
        return value

    def resolved_learning_rate(self, finetuning_learning_rate: float | None = None) -> float:
        if self.learning_rate != MATCH:
            return float(self.learning_rate)
        if finetuning_learning_rate is None:
            raise ValueError("realignment learning_rate 'match' needs a fine-tuning run to match")
        return float(finetuning_learning_rate)


def resolve_word_vector(config: RealignConfig, model) -> str:
    """``config.word_vector``, or where it is None the one ``model`` (loaded) calls for:
    ``first`` for an encoder, ``last`` for a decoder
    (:func:`alignfreeze.models.layers.default_word_vector`)."""
    from alignfreeze.models.layers import default_word_vector, encoder_of

    return config.word_vector or default_word_vector(encoder_of(model).config)


def resolve_layers(config: RealignConfig, n_layers: int) -> list[int]:
    """The hidden-state indices the loss of ``config`` is computed on, for a model with
    ``n_layers`` transformer layers: 0 is the embedding output and ``i`` the output of
    transformer layer ``i`` (1-based, so ``n_layers`` is the top), as ``hidden_states[i]`` of
    the transformers library and the alignment analysis (``alignment_*_L{i}``) count them.

    The reference's ``--layers`` indexes ``hidden_states`` too
    (``multilingual_eval/models/with_realignment_factory.py`` l.100-102), but its default
    ``-1`` becomes ``n_layers - 1``: the penultimate layer, not the top (our ``penultimate``).

    Example::

        resolve_layers(RealignConfig(layers="middle"), 12)    # [6]
    """
    named = config.layers if config.layers is not None else config.layer
    if named == "top":
        return [n_layers]
    if named == "penultimate":
        return [n_layers - 1]
    if named == "middle":
        return [n_layers // 2]
    if named == "all":
        return list(range(1, n_layers + 1))
    too_high = [i for i in named if i > n_layers]
    if too_high:
        raise ValueError(
            f"realignment layers {too_high}: the model has {n_layers} layers (0: the embeddings, 1..{n_layers})"
        )
    return list(named)
