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

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignfreeze.schema import NEUTRAL_AT_DEFAULT

#: ``steps: match`` / ``learning_rate: match``: take the value from the run's fine-tuning.
MATCH = "match"


class RealignConfig(BaseModel):
    """Contrastive realignment, as a method: every setting of the loss, its batches and its
    optimiser, and nothing about the model, data, freeze spec or seed.

    The loss is InfoNCE over the vectors of aligned words (Wu & Dredze, 2020), as in Gaschi
    et al. (Findings of ACL 2023) and AlignFreeze (Bakos, Gaschi et al., NAACL 2025): each
    word's vector (its first subword) goes through a projection head trained with the loss
    and discarded afterwards, cosine similarities are divided by ``temperature``, and its
    translation must win against the other candidates of the batch (``strong``: both
    languages' words; ``weak``: the other language's).

    Args:
        steps, batch_size, max_length, batching, length_bucketing: the batches.
        optimizer, learning_rate, weight_decay: the optimiser (constant learning rate).
        temperature, mode, projection, projection_dim, word_vector, layer: the loss.

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
    word_vector: Literal["first", "mean"] = Field(
        "first", description="a word's vector: its first subword, or the mean"
    )
    layer: Literal["top", "penultimate"] = Field(
        "top",
        description="'top': the last layer's output. 'penultimate' reproduces the reference code, which (through its "
        "hidden_states indexing) applied the loss to the output of layer L-1, leaving the top layer untouched",
    )
    length_bucketing: bool = Field(False, description="batch sentence pairs of similar length together (less padding)")
    sampling: Literal["uniform", "shuffle_buffer"] = Field(
        "uniform",
        description="how sentence pairs are drawn from each realignment corpus, read and aligned lazily a chunk at a "
        "time: 'uniform': a random permutation of the whole corpus, reshuffled when it runs out; 'shuffle_buffer': the "
        "reference's stream, the corpus in file order through a shuffle buffer of shuffle_buffer pairs (the datasets "
        "library's algorithm), replayed in the same order at each restart",
        json_schema_extra=NEUTRAL_AT_DEFAULT,
    )
    shuffle_buffer: int = Field(
        10_000,
        ge=1,
        description="sampling 'shuffle_buffer': aligned sentence pairs held in the buffer (the reference's 10,000)",
        json_schema_extra=NEUTRAL_AT_DEFAULT,
    )
    freeze_matching: Literal["exact", "name_prefix"] = Field(
        "exact",
        description="'during' with a freeze spec: the parameters kept out of the realignment gradient. 'exact': the "
        "spec's layers; 'name_prefix': every parameter whose name starts with a frozen layer's, as the reference code "
        "matched them (training_loops.py 739, 758), so front on 12 layers also takes layers 10 and 11",
        json_schema_extra=NEUTRAL_AT_DEFAULT,
    )
    language_weighting: Literal["uniform", "ucb", "meta", "meta_closed"] = Field(
        "uniform",
        description="the language pair of each batch (batching by_pair): 'uniform': in turn; 'ucb': drawn by UCB on "
        "each pair's realignment loss; 'meta': drawn from weights learned first with the model frozen (the emnlp-2026 "
        "code's decoupled meta-learned weights); 'meta_closed': weights = each pair's mean loss over one pass "
        "(alignfreeze.realign.weighting)",
        json_schema_extra=NEUTRAL_AT_DEFAULT,
    )
    weighting_exploration: float = Field(
        1.0, ge=0, description="ucb: exploration coefficient c", json_schema_extra=NEUTRAL_AT_DEFAULT
    )
    weighting_every: int | None = Field(
        None,
        ge=1,
        description="batches between weight updates (default: 5 for ucb, 10 for meta)",
        json_schema_extra=NEUTRAL_AT_DEFAULT,
    )
    weighting_learning_rate: float = Field(
        1e-2, gt=0, description="meta: Adam's learning rate on the weights", json_schema_extra=NEUTRAL_AT_DEFAULT
    )
    weighting_temperature: float = Field(
        1.0, gt=0, description="softmax temperature of the weights", json_schema_extra=NEUTRAL_AT_DEFAULT
    )

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
