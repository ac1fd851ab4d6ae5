"""Fine-tuning loop (accelerate), with optional joint realignment ("during").

* Effective batch ``batch_size`` (32) through gradient accumulation of micro-batches.
* Micro-batches are length-grouped (examples of similar length together, drawn from
  random windows of 50 micro-batches) and padded dynamically; with ``group_by_length:
  false``, each epoch is a uniform shuffle seeded by the run, cut into consecutive
  micro-batches (:func:`step_groups`), like the reference's ``DataLoader(shuffle=True)``.
* AdamW with a linear schedule and warm-up over the first ``warmup_ratio`` (10%) of
  *optimiser* steps. ``schedule_unit: micro_batches`` counts the warm-up and the schedule's
  length in micro-batches instead, while still stepping it once per optimiser step, as the
  reference code does (``training_loops.py`` 622-627, ``epoch_loop.py`` 159-174): with
  accumulation k, the warm-up lasts k times longer and the rate never gets back to 0
  (:func:`schedule_lengths`).
* Joint training: at every optimiser step, one realignment batch's loss times
  ``JOINT_COEFFICIENT`` (0.1) is added to the task loss, and the projection head is trained
  with the model. Its gradient is computed first; ``realignment_frozen`` parameters then
  have it erased before the task's micro-batches add theirs, so those parameters are moved
  by the task alone ("during" with a freeze spec: the reference's
  ``during_partial_freeze_*``, ``multilingual_eval/training/epoch_loop.py`` lines 128-143).
* The same code runs on a CPU, one GPU or several, through ``accelerate``.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import TrainingSettings
from alignfreeze.finetune.tasks import Task
from alignfreeze.progress import progress_bar


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, window: int = 50
) -> list[list[int]]:
    order = rng.permutation(len(lengths))
    batches: list[list[int]] = []
    span = batch_size * window
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span].tolist(), key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def random_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """One epoch: a uniform permutation of ``range(n)`` from ``rng``, cut into consecutive
    batches (the last one shorter)."""
    order = rng.permutation(n).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def step_groups(lengths: Sequence[int], settings: TrainingSettings, rng: np.random.Generator):
    """The micro-batches (lists of feature indices) of each optimiser step, epoch after epoch,
    without end: each epoch's micro-batches (length-grouped, or :func:`random_batches` with
    ``group_by_length: false``) taken ``batch_size / micro_batch_size`` at a time; an epoch's
    last step may have fewer (as the reference's ``epoch_loop.py`` 159)."""
    accumulation = settings.batch_size // settings.micro_batch_size
    while True:
        micro = (
            length_grouped_batches(lengths, settings.micro_batch_size, rng)
            if settings.group_by_length
            else random_batches(len(lengths), settings.micro_batch_size, rng)
        )
        yield from (micro[i : i + accumulation] for i in range(0, len(micro), accumulation))


@dataclass
class FinetuneResult:
    losses: list[float]
    optimizer_steps: int
    warmup_steps: int
    seconds: float
    precision: str = "fp32"  # as used (``auto`` resolved)


def optimizer_steps_per_epoch(n_features: int, settings: TrainingSettings) -> int:
    micro = math.ceil(n_features / settings.micro_batch_size)
    return math.ceil(micro / (settings.batch_size // settings.micro_batch_size))


def total_optimizer_steps(n_features: int, settings: TrainingSettings) -> int:
    """Optimiser steps of a fine-tuning run on ``n_features`` training features (what
    ``realignment.steps: match`` realigns for)."""
    total = math.ceil(optimizer_steps_per_epoch(n_features, settings) * settings.epochs)
    return min(total, settings.max_steps) if settings.max_steps is not None else total


def schedule_lengths(n_features: int, settings: TrainingSettings) -> tuple[int, int]:
    """``(warm-up, length)`` of the linear schedule, which steps once per optimiser step: the
    rate rises from 0 over the warm-up's steps, then falls linearly to reach 0 at ``length``.

    * ``schedule_unit: optimizer_steps``: ``length`` is the run's optimiser steps
      (:func:`total_optimizer_steps`), the warm-up ``int(warmup_ratio * length)``.
    * ``micro_batches``: both in micro-batches (of ``schedule_micro_batch_size``; by default the
      run's own), as the reference code built its scheduler
      (``training_loops.py`` 622-627: ``int(0.1 * len(task_dataloader) * n_epochs)`` and
      ``len(task_dataloader) * n_epochs``, ``len`` being micro-batches per epoch) and stepped it
      once per optimiser step (``epoch_loop.py`` 159-174). With accumulation k the run ends at
      about ``length / k``, so the rate never gets back to 0; ``max_steps`` does not shorten it.
    """
    if settings.schedule_unit == "optimizer_steps":
        total = total_optimizer_steps(n_features, settings)
        return int(settings.warmup_ratio * total), total
    counted = settings.schedule_micro_batch_size or settings.micro_batch_size
    if not isinstance(counted, int):
        raise AlignfreezeError("schedule_micro_batch_size is not resolved: pass the settings through resolve_training")
    micro = math.ceil(n_features / counted)
    return int(settings.warmup_ratio * micro * settings.epochs), math.ceil(micro * settings.epochs)


def finetune(
    model,
    tokenizer,
    task: Task,
    features: Sequence[dict],
    settings: TrainingSettings,
    seed: int,
    objective=None,
    progress: bool = True,
    accelerator=None,
    realignment_frozen: Sequence | None = None,
    on_losses: Callable[[int, list[float], list[float]], None] | None = None,
) -> FinetuneResult:
    """Fine-tune ``model`` in place on one task's features (English, in the paper), optionally
    with the joint realignment loss of ``during`` realignment (Gaschi et al., 2023).

    Args:
        model: a task model (:func:`load_model` with the task's head).
        tokenizer: its fast tokenizer.
        task: the task (:func:`get_task`).
        features: from ``task.encode``.
        settings: :class:`TrainingSettings` (resolved: :func:`resolve_training`).
        seed: data order, dropout.
        objective: a :class:`RealignmentObjective` whose loss is added at every step.
        realignment_frozen: parameters the realignment gradient must not reach.
        on_losses: called with ``(first step, losses, learning rates)`` each time the losses
            are read from the device (every few steps and at the end): an experiment tracker's feed.

    Returns:
        :class:`FinetuneResult`: losses, steps, seconds.

    Example::

        task = af.get_task("pos")
        features = task.encode(train, tokenizer, 96, labels)
        model = af.load_model("e5-small", head=task.head, labels=labels)
        af.finetune(model, tokenizer, task, features, resolve_training(af.TrainingSettings(), "e5-small", "pos"), seed=0)
    """
    import torch
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup, set_seed

    from alignfreeze.optim import clip_grad_norm, finalize, make_optimizer, read_losses, row_sparse_training
    from alignfreeze.precision import Precision
    from alignfreeze.realign.trainer import JOINT_COEFFICIENT

    if not features:
        raise AlignfreezeError("no training examples after preprocessing")
    if not isinstance(settings.micro_batch_size, int) or settings.epochs is None:
        raise AlignfreezeError("fine-tuning settings are not resolved: pass them through resolve_training first")
    set_seed(seed)
    accelerator = accelerator or Accelerator()
    rng = np.random.default_rng(seed)  # the data order, and nothing else
    total = total_optimizer_steps(len(features), settings)
    warmup, schedule_length = schedule_lengths(len(features), settings)

    precision = Precision(settings.precision, accelerator.device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lengths = [len(f["input_ids"]) for f in features]

    def to_device(batch: dict) -> dict:
        # Pinned host memory lets the copy overlap with the GPU's work (no effect on a CPU).
        if accelerator.device.type == "cuda":
            return {k: v.pin_memory().to(accelerator.device, non_blocking=True) for k, v in batch.items()}
        return {k: v.to(accelerator.device) for k, v in batch.items()}

    t0 = time.perf_counter()
    frozen_ids = {id(p) for p in realignment_frozen or ()}
    step_losses = []  # on the device: read in bunches (optim.read_losses), not at every micro-batch
    step_rates: list[float] = []  # the learning rate each optimiser step used
    with row_sparse_training(model) as embedding:
        params = [p for p in model.parameters() if p.requires_grad]
        if objective is not None:
            params += list(objective.head.parameters())
        optimizer = make_optimizer(params, settings.learning_rate, settings.weight_decay, row_params=[embedding])
        scheduler = get_linear_schedule_with_warmup(
            optimizer, num_warmup_steps=warmup, num_training_steps=schedule_length
        )
        model, optimizer = accelerator.prepare(model, optimizer)
        if objective is not None:
            objective.head.to(accelerator.device)
        model.train()
        groups = step_groups(lengths, settings, rng)
        bar = progress_bar(range(1, total + 1), desc=f"fine-tune {task.name}", disable=not progress)
        for step in bar:
            group = next(groups)
            n_examples = sum(len(b) for b in group)
            step_loss = None
            if objective is not None:
                # The realignment gradient first, so that it can be erased from the frozen
                # parameters before the task's gradient is added.
                with accelerator.no_sync(model), precision.autocast():
                    step_loss = JOINT_COEFFICIENT * objective.loss(model)
                with accelerator.no_sync(model):
                    precision.backward(step_loss)
                step_loss = step_loss.detach()
                if frozen_ids:
                    for p in model.parameters():
                        if id(p) in frozen_ids:
                            p.grad = None
            for j, indices in enumerate(group):
                last = j == len(group) - 1
                batch = to_device(task.collate([features[i] for i in indices], pad_id))
                sync = contextlib.nullcontext() if last else accelerator.no_sync(model)
                with sync:
                    # Weight each micro-batch by its share of the step's examples: the step's
                    # gradient is then that of the mean loss over the whole effective batch.
                    with precision.autocast():
                        loss = model(**batch).loss * (len(indices) / n_examples)
                    precision.backward(loss)
                step_loss = loss.detach() if step_loss is None else step_loss + loss.detach()
            if settings.max_grad_norm is not None:
                precision.unscale(optimizer)
                clip_grad_norm(params, settings.max_grad_norm)
            precision.step(optimizer)
            step_rates.append(scheduler.get_last_lr()[0])
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step_losses.append(step_loss)
            recent = read_losses(
                step_losses, step, total, "fine-tuning loss is {value} at optimiser step {step}; stopped"
            )
            if recent:
                bar.set_postfix(loss=f"{recent[-1]:.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}", refresh=False)
                if on_losses:
                    on_losses(step - len(recent) + 1, recent, step_rates[-len(recent) :])
        finalize(optimizer)
    model.eval()
    losses = torch.stack(step_losses).float().tolist()
    return FinetuneResult(losses, total, warmup, time.perf_counter() - t0, precision.name)
