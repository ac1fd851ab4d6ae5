"""Fine-tuning settings. ``None`` fields are resolved from the model and task by
:func:`resolve_training` before a run is hashed, so a run id always names concrete values."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The paper configuration.
DEFAULT_LR, XLMR_LR = 2e-5, 7.5e-6
EPOCHS = {"pos": 5, "ner": 5, "qa": 5, "nli": 2}
EVAL_MAX_LENGTH = {"nli": 256}


class TrainingSettings(BaseModel):
    """Fine-tuning settings of a run (and the precision of all its stages). ``None`` fields are
    filled from the model and task by :func:`resolve_training` before the run is hashed: the
    paper's learning rate (2e-5, 7.5e-6 for XLM-R) and epochs (5; 2 for NLI), as in Bakos,
    Gaschi et al. (NAACL 2025).

    Example::

        af.TrainingSettings(epochs=1, learning_rate=2e-4, max_steps=100)
        # in YAML:  training: {epochs: 1, learning_rate: 2.0e-4}
    """

    model_config = ConfigDict(extra="forbid")

    learning_rate: float | None = Field(None, gt=0, description="default 2e-5, or 7.5e-6 for XLM-R models")
    epochs: float | None = Field(None, gt=0, description="default 5 (pos, ner, qa) or 2 (nli)")
    batch_size: int = Field(32, ge=1, description="effective batch (examples per optimiser step)")
    micro_batch_size: int = Field(
        32, ge=1, description="examples per forward pass; batch_size / micro_batch_size = accumulation"
    )
    max_length: int = Field(96, ge=8)
    eval_max_length: int | None = Field(None, ge=8, description="default 128 (256 for nli)")
    eval_batch_size: int = Field(64, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="of optimiser steps")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(
        1.0, gt=0, description="gradient clipping; null: none (the reference code clips nothing)"
    )
    max_steps: int | None = Field(None, ge=1, description="cap on optimiser steps (smoke tests)")
    group_by_length: bool = True
    doc_stride: int = Field(32, ge=1, description="qa: overlap between context windows, in tokens")
    precision: Literal["auto", "fp32", "tf32", "bf16", "fp16"] = Field(
        "auto",
        description="of realignment, fine-tuning, evaluation and alignment measurement in a run: 'auto' is fp32 on a "
        "CPU and tf32 on a CUDA GPU (alignfreeze.precision)",
    )
    long_sentences: Literal["truncate", "windows"] = Field(
        "truncate",
        description="pos/ner sentences longer than max_length (eval_max_length when evaluating): 'truncate' cuts them "
        "(cut words are not trained on, and are scored as wrong); 'windows' splits them into consecutive windows that "
        "are trained on and scored as sequences of their own, as the reference code does",
    )


class EvaluationSettings(BaseModel):
    """How predictions are scored (beyond the lengths and batch sizes in
    :class:`TrainingSettings`). Both defaults are ours; ``protocol: reference`` sets the
    AlignFreeze reference code's choices (BIO repair, the QA pipeline's decoding and scores).

    Example::

        af.EvaluationSettings(ner_bio_repair=True, qa_scorer="reference")
    """

    model_config = ConfigDict(extra="forbid")
    ner_bio_repair: bool = Field(
        False,
        description="ner: repair predicted BIO sequences before scoring (an I- tag after O becomes B-, a run takes the "
        "type of its last I- tag), as the reference code does",
    )
    qa_scorer: Literal["squad", "reference"] = Field(
        "squad",
        description="qa: 'squad' = best span over windows by start+end logits, SQuAD v1.1 EM/F1 (max over gold answers) "
        "after MLQA-style normalisation per language; 'reference' = the reference code's: question-answering pipeline "
        "decoding (384-token windows, stride 128, answers of at most 15 tokens widened to whole words) and its own "
        "EM/F1 (first gold answer, English-only normalisation, set-based F1, raw EM outside the training language)",
    )


def resolve_training(settings: TrainingSettings, model: str, task: str) -> TrainingSettings:
    values = settings.model_dump()
    if values["learning_rate"] is None:
        values["learning_rate"] = XLMR_LR if "xlm-roberta" in model.lower() or "xlmr" in model.lower() else DEFAULT_LR
    if values["epochs"] is None:
        values["epochs"] = EPOCHS[task]
    if values["eval_max_length"] is None:
        values["eval_max_length"] = EVAL_MAX_LENGTH.get(task, 128)
    if values["batch_size"] % values["micro_batch_size"]:
        raise ValueError(
            f"batch_size {values['batch_size']} is not a multiple of micro_batch_size {values['micro_batch_size']}"
        )
    return TrainingSettings(**values)
