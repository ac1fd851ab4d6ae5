"""Optimisers and gradient clipping shared by realignment and fine-tuning.

Multilingual encoders spend most of their parameters on the input embedding matrix
(250,002 x 384 of e5-small's 118M parameters; 250,002 x 768 for XLM-R), yet a batch touches a
few hundred of its rows. A dense gradient of that matrix is zero-filled, accumulated,
clipped and fed to Adam at every step: a fifth of a CPU fine-tuning step went into filling
it alone (``torch.profiler``, e5-small, 32 sentences: ``aten::fill_`` 20% of the step).

:func:`make_optimizer` therefore asks the embedding for *sparse* row gradients and updates it
with :class:`LazyRowsAdam`, which applies the Adam/AdamW arithmetic of
``torch.optim.Adam(W)`` to the rows that have ever received a gradient -- exactly the rows
whose state or value the dense optimiser changes, because a row whose moments are still
zero gets an update of ``0 / (0 + eps) = 0``. The only update of a never-touched row is
AdamW's decoupled weight decay, ``p *= 1 - lr * wd``: it is kept as one running factor and
applied to such a row when it is first touched, and to all of them by :meth:`finalize`.
(With Adam's L2 weight decay every row has a gradient, so that case stays dense.) The
results equal the dense optimiser's to float precision (tested), at a cost proportional to
the rows touched.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterable, Sequence

import torch
from torch import nn

from alignfreeze.errors import AlignfreezeError

OPTIMIZERS = ("adamw", "adam")
#: Optimiser steps between two reads of the loss in the training loops: each read makes the
#: host wait for the device, so they are read in bunches (and checked for NaN then).
SYNC_EVERY = 16
#: Embedding matrices with fewer rows gain nothing from sparse gradients.
SPARSE_MIN_ROWS = 30_000


def read_losses(step_losses: list[torch.Tensor], step: int, last_step: int, message: str) -> list[float] | None:
    """The losses of the steps since the last read, as floats, every :data:`SYNC_EVERY` steps
    and at ``last_step`` (else None: nothing is read, the device is not waited for). A
    non-finite loss raises ``AlignfreezeError(message.format(value=..., step=...))`` naming the
    first step where it appeared."""
    if step % SYNC_EVERY and step != last_step:
        return None
    recent = torch.stack(step_losses[-(((step - 1) % SYNC_EVERY) + 1) :]).float().tolist()
    bad = next((i for i, v in enumerate(recent) if not math.isfinite(v)), None)
    if bad is not None:
        raise AlignfreezeError(message.format(value=recent[bad], step=step - len(recent) + 1 + bad))
    return recent


def _dense_optimizer(params: list, lr: float, weight_decay: float, name: str) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # fused kernels unavailable for this device/dtype
        return cls(params, lr=lr, weight_decay=weight_decay)


class LazyRowsAdam(torch.optim.Optimizer):
    """Adam (``decoupled=False``, weight decay 0) or AdamW over ``params``, where the
    ``row_params`` (embedding matrices with sparse gradients) are updated row-wise, lazily
    (see the module docstring). Dense parameters go through torch's own (fused) optimiser;
    the hyper-parameters of this optimiser's first group (which a learning-rate schedule
    sets) are passed on to it at every step. Call :meth:`finalize` when training ends."""

    def __init__(
        self,
        params: Iterable,
        row_params: Sequence[nn.Parameter],
        lr: float,
        weight_decay: float,
        decoupled: bool = True,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        if not decoupled and weight_decay != 0:
            raise AlignfreezeError("Adam with L2 weight decay gives every row a gradient: use the dense optimiser")
        params = [p for p in params if p.requires_grad]
        row_ids = {id(p) for p in row_params}
        dense = [p for p in params if id(p) not in row_ids]
        rows = [p for p in params if id(p) in row_ids]
        self._dense = _dense_optimizer(dense, lr, weight_decay, "adamw" if decoupled else "adam") if dense else None
        self.decoupled = decoupled
        groups = [self._dense.param_groups[0]] if self._dense else []
        groups.append(
            {"params": rows, "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "rows": True}
        )
        super().__init__(groups, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            raise AlignfreezeError("LazyRowsAdam takes no closure")
        if self._dense is not None:
            # Not the same dict any more once someone load_state_dict()s us (accelerate does).
            inner, outer = self._dense.param_groups[0], self.param_groups[0]
            inner.update({key: outer[key] for key in ("lr", "betas", "eps", "weight_decay")})
            self._dense.step()
        for group in self.param_groups:
            if group.get("rows"):
                for p in group["params"]:
                    self._row_step(p, group)

    def _row_step(self, p: nn.Parameter, group: dict) -> None:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            state["touched"] = torch.zeros(p.shape[0], dtype=torch.bool, device=p.device)
            state["pending_decay"] = 1.0  # decay owed by rows never touched (AdamW with weight decay)
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        state["step"] += 1
        grad = p.grad
        if grad is None:
            rows = torch.zeros(0, dtype=torch.long, device=p.device)
            values = p.new_zeros((0, *p.shape[1:]))
        elif grad.is_sparse:
            grad = grad.coalesce()
            rows, values = grad.indices()[0], grad.values()
        else:  # a dense gradient (the matrix is used elsewhere too): every row is touched
            rows, values = torch.arange(p.shape[0], device=p.device), grad
        touched = state["touched"]
        new = rows[~touched[rows]]
        decay = 1 - lr * weight_decay
        if new.numel() and state["pending_decay"] != 1.0:
            p.index_copy_(0, new, p.index_select(0, new) * state["pending_decay"])
        touched[rows] = True
        live = touched.nonzero().squeeze(1)
        param, exp_avg, exp_avg_sq = (t.index_select(0, live) for t in (p, state["exp_avg"], state["exp_avg_sq"]))
        g = torch.zeros_like(param)
        if rows.numel():
            g.index_copy_(0, torch.searchsorted(live, rows), values.to(g.dtype))
        # torch.optim.adam._single_tensor_adam, on the live rows:
        if weight_decay != 0:
            param.mul_(decay)
        exp_avg.lerp_(g, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** state["step"]
        bias_correction2 = 1 - beta2 ** state["step"]
        denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        for target, source in ((p, param), (state["exp_avg"], exp_avg), (state["exp_avg_sq"], exp_avg_sq)):
            target.index_copy_(0, live, source)
        if weight_decay != 0:
            state["pending_decay"] *= decay

    @torch.no_grad()
    def finalize(self) -> None:
        """Apply the weight decay still owed by rows never touched (a no-op without decay)."""
        for group in self.param_groups:
            if not group.get("rows"):
                continue
            for p in group["params"]:
                state = self.state.get(p)
                if state and state["pending_decay"] != 1.0:
                    untouched = (~state["touched"]).nonzero().squeeze(1)
                    p.index_copy_(0, untouched, p.index_select(0, untouched) * state["pending_decay"])
                    state["pending_decay"] = 1.0


def sparse_embedding(model: nn.Module) -> nn.Embedding | None:
    """The model's input embedding, when sparse row gradients pay off and are safe: a large
    matrix that is trainable and not shared with another module (tied output weights)."""
    getter = getattr(model, "get_input_embeddings", None)
    embedding = getter() if callable(getter) else None
    if not isinstance(embedding, nn.Embedding) or embedding.weight.shape[0] < SPARSE_MIN_ROWS:
        return None
    if not embedding.weight.requires_grad or embedding.max_norm is not None:
        return None
    output = getattr(model, "get_output_embeddings", lambda: None)()
    if output is not None and getattr(output, "weight", None) is embedding.weight:
        return None
    return embedding


@contextlib.contextmanager
def row_sparse_training(model: nn.Module, enabled: bool = True):
    """Inside the block, the model's large input embedding (if any) produces sparse row
    gradients; yields its weight (or None). The flag is restored on exit."""
    embedding = sparse_embedding(model) if enabled else None
    if embedding is None:
        yield None
        return
    before = embedding.sparse
    embedding.sparse = True
    try:
        yield embedding.weight
    finally:
        embedding.sparse = before


def make_optimizer(
    params, lr: float, weight_decay: float, name: str = "adamw", row_params: Sequence[nn.Parameter] = ()
) -> torch.optim.Optimizer:
    """AdamW or Adam (torch's, fused where available) over the trainable ``params``;
    ``row_params`` (from :func:`row_sparse_training`) are updated lazily by rows
    (:class:`LazyRowsAdam`). ``adam`` with ``weight_decay=0`` is the reference code's."""
    if name not in OPTIMIZERS:
        raise AlignfreezeError(f"unknown optimizer {name!r} (allowed: {', '.join(OPTIMIZERS)})")
    params = [p for p in params if p.requires_grad]
    row_params = [p for p in row_params if p is not None and any(p is q for q in params)]
    if row_params and (name == "adamw" or weight_decay == 0):
        return LazyRowsAdam(params, row_params, lr, weight_decay, decoupled=name == "adamw")
    return _dense_optimizer(params, lr, weight_decay, name)


def finalize(optimizer: torch.optim.Optimizer) -> None:
    """End of training: settle what a lazy optimiser still owes (nothing for the others)."""
    while not isinstance(optimizer, LazyRowsAdam) and hasattr(optimizer, "optimizer"):
        optimizer = optimizer.optimizer  # accelerate's wrapper
    if isinstance(optimizer, LazyRowsAdam):
        optimizer.finalize()


@torch.no_grad()
def clip_grad_norm(params: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` (2-norm) that also takes sparse gradients: the
    total norm of every gradient, and every gradient scaled by ``max_norm / (norm + 1e-6)``
    when that is below 1."""
    grads = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()
            grads.append(p.grad)
        else:
            grads.append(p.grad)
    if not grads:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(g._values() if g.is_sparse else g) for g in grads]
    total = torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]))
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        (g._values() if g.is_sparse else g).mul_(coefficient.to(g.device))
    return total
