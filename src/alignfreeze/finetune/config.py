"""Fine-tuning settings. ``None`` fields are resolved from the model and task by
:func:`resolve_training` before a run is hashed, so a run id always names concrete values."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alignfreeze.models.adapters import AdapterSettings
from alignfreeze.schema import added_setting

#: The paper configuration.
DEFAULT_LR, XLMR_LR = 2e-5, 7.5e-6
EPOCHS = {"pos": 5, "ner": 5, "qa": 5, "nli": 2}
#: ``default_epochs: reference``: the epochs of the authors' released runs. Their XQuAD runs
#: have 18,010 (mBERT, DistilmBERT) and 20,228 (XLM-R) fine-tuning optimiser steps, 2 epochs of
#: SQuAD v1.1 train in windows of 96 tokens, not the 5 their script passes (README, protocols).
REFERENCE_EPOCHS = {**EPOCHS, "qa": 2}
EVAL_MAX_LENGTH = {"nli": 256}
#: ``micro_batch_size: reference``: the reference code's micro-batch without ``--large_gpu``
#: (``multilingual_eval/training/batch_sizes.py`` 1-6, 24: 4 for any other model), at most the
#: batch; with ``--large_gpu`` it is 32 (lines 8-13, 23), i.e. no accumulation.
REFERENCE_MICRO_BATCH = {
    "xlm-roberta-base": 2,
    "bert-base-multilingual-cased": 4,
    "distilbert-base-multilingual-cased": 8,
    "xlm-roberta-large": 1,
}
REFERENCE_MICRO_BATCH_OTHER = 4


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
    epochs: float | None = Field(None, gt=0, description="default: see default_epochs")
    default_epochs: Literal["paper", "reference"] = added_setting(
        "paper",
        description="the epochs of 'epochs: null': 'paper' = 5 (pos, ner, qa) and 2 (nli), as the paper and the "
        "reference scripts state; 'reference' = those of the authors' released runs: 2 for qa (their XQuAD step "
        "counts fit 2 epochs, not 5: README), the others as 'paper'",
    )
    batch_size: int = Field(32, ge=1, description="effective batch (examples per optimiser step)")
    micro_batch_size: Annotated[int, Field(ge=1)] | Literal["reference"] = Field(
        32,
        description="examples per forward pass; batch_size / micro_batch_size = accumulation. 'reference': the "
        "reference code's without --large_gpu, by model (2 XLM-R, 4 mBERT, 8 DistilmBERT, 4 others; "
        "REFERENCE_MICRO_BATCH), at most batch_size",
    )
    max_length: int = Field(96, ge=8)
    eval_max_length: int | None = Field(None, ge=8, description="default 128 (256 for nli)")
    eval_batch_size: int = Field(64, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, le=1, description="of the schedule's length (schedule_unit)")
    schedule_unit: Literal["optimizer_steps", "micro_batches"] = added_setting(
        "optimizer_steps",
        description="what the linear schedule's warm-up (warmup_ratio) and length count; it steps once per optimiser "
        "step either way. 'optimizer_steps': warm-up over the first warmup_ratio of the run, then down to 0 at its end; "
        "'micro_batches': both counted in micro-batches of schedule_micro_batch_size, as the reference code does "
        "(training_loops.py 622-627): with accumulation k the warm-up lasts k times longer and the rate never gets back "
        "to 0 (max_steps then only stops early)",
    )
    schedule_micro_batch_size: Annotated[int, Field(ge=1)] | Literal["reference"] | None = added_setting(
        None,
        description="schedule_unit micro_batches: the micro-batch it counts. null: micro_batch_size; 'reference': the "
        "reference code's without --large_gpu, by model (as micro_batch_size: reference), whatever micro-batch the run "
        "computes with. Resolved to a number (null under optimizer_steps)",
    )
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(
        1.0, gt=0, description="gradient clipping; null: none (the reference code clips nothing)"
    )
    max_steps: int | None = Field(None, ge=1, description="cap on optimiser steps (smoke tests)")
    group_by_length: bool = Field(
        True,
        description="micro-batches of similar lengths (drawn from random windows of 50 micro-batches, in random "
        "order); false: a uniform shuffle per epoch, seeded by the run, cut into consecutive micro-batches (the "
        "reference's DataLoader(shuffle=True))",
    )
    doc_stride: int = Field(32, ge=1, description="qa: overlap between context windows, in tokens")
    precision: Literal["auto", "fp32", "tf32", "bf16", "fp16"] = Field(
        "auto",
        description="floating-point precision (in a run, of realignment, fine-tuning, evaluation and alignment "
        "measurement): 'auto' is fp32 on a CPU and tf32 on a CUDA GPU (alignfreeze.precision)",
    )
    adapter: AdapterSettings | None = added_setting(
        None,
        description="a parameter-efficient adapter on the encoder, trained by realignment and then by fine-tuning "
        "(the same adapter), e.g. {type: lora, r: 8}; the encoder's other weights, embeddings included, stay fixed "
        "and the task head is trained whole. null: every weight is trained (alignfreeze.models.adapters)",
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


def reference_micro_batch(model: str, batch_size: int) -> int:
    """The reference code's micro-batch for ``model`` without ``--large_gpu``
    (``training/batch_sizes.py`` 16-24, by the name's last part), at most ``batch_size``."""
    name = model.rstrip("/").split("/")[-1].lower()
    return min(REFERENCE_MICRO_BATCH.get(name, REFERENCE_MICRO_BATCH_OTHER), batch_size)


def resolve_training(settings: TrainingSettings, model: str, task: str) -> TrainingSettings:
    values = settings.model_dump()
    if values["learning_rate"] is None:
        values["learning_rate"] = XLMR_LR if "xlm-roberta" in model.lower() or "xlmr" in model.lower() else DEFAULT_LR
    if values["epochs"] is None:
        values["epochs"] = (REFERENCE_EPOCHS if values["default_epochs"] == "reference" else EPOCHS)[task]
    if values["micro_batch_size"] == "reference":
        values["micro_batch_size"] = reference_micro_batch(model, values["batch_size"])
    if values["schedule_unit"] == "optimizer_steps":
        values["schedule_micro_batch_size"] = None  # not used: the same run
    elif values["schedule_micro_batch_size"] is None:
        values["schedule_micro_batch_size"] = values["micro_batch_size"]
    elif values["schedule_micro_batch_size"] == "reference":
        values["schedule_micro_batch_size"] = reference_micro_batch(model, values["batch_size"])
    if values["eval_max_length"] is None:
        values["eval_max_length"] = EVAL_MAX_LENGTH.get(task, 128)
    if values["batch_size"] % values["micro_batch_size"]:
        raise ValueError(
            f"batch_size {values['batch_size']} is not a multiple of micro_batch_size {values['micro_batch_size']}"
        )
    return TrainingSettings(**values)
