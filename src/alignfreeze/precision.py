"""Numeric precision of training and inference: ``fp32``, ``tf32``, ``bf16``, ``fp16``, or
``auto``.

* ``fp32``: float32 everywhere.
* ``tf32``: float32 tensors, matrix products on a GPU's TF32 units (10-bit mantissa); on a
  CPU it is ``fp32``.
* ``bf16`` / ``fp16``: weights and optimiser state stay float32, forward passes run under
  ``torch.autocast`` in that type; ``fp16`` scales the loss (``torch.amp.GradScaler``) so
  small gradients do not underflow.
* ``auto``: ``fp32`` on a CPU (bf16 autocast is 2 to 3.5 times slower there), ``tf32`` on a
  CUDA GPU (its matrix products at fp32 precision would idle the tensor cores; at the
  paper's batch sizes TF32 gave the fastest step in the H100 figures of the project's
  issue 12, which this repository did not remeasure: no GPU was lent to it).

Precision changes numbers, so it is part of a run's id; a run records the precision it
used (``auto`` resolved) in its ``metrics.json``.
"""

from __future__ import annotations

import contextlib

PRECISIONS = ("auto", "fp32", "tf32", "bf16", "fp16")


def resolve_precision(name: str, device) -> str:
    """``name`` with ``auto`` resolved for ``device``, and ``tf32`` read as ``fp32`` off CUDA."""
    if name not in PRECISIONS:
        from alignfreeze.errors import AlignfreezeError

        raise AlignfreezeError(f"unknown precision {name!r} (allowed: {', '.join(PRECISIONS)})")
    kind = getattr(device, "type", str(device))
    if name == "auto":
        return "tf32" if kind == "cuda" else "fp32"
    if name == "tf32" and kind != "cuda":
        return "fp32"
    return name


class Precision:
    """Autocast, loss scaling and TF32 for one device: ``with p.autocast(): loss = ...``,
    ``p.backward(loss)``, ``p.unscale(optimizer)`` before clipping, ``p.step(optimizer)``."""

    def __init__(self, name: str = "fp32", device=None):
        import torch

        self.device = torch.device(device or "cpu")
        self.name = resolve_precision(name, self.device)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.name == "fp16" else None

    @contextlib.contextmanager
    def autocast(self):
        """Forward passes in the precision's type (and TF32 matrix products for ``tf32``)."""
        import torch

        if self.dtype is not None:
            with torch.autocast(self.device.type, dtype=self.dtype):
                yield
            return
        if self.name != "tf32":
            yield
            return
        before = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
        torch.set_float32_matmul_precision("high")
        torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(before[0])
            torch.backends.cudnn.allow_tf32 = before[1]

    def backward(self, loss) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer) -> None:
        """Bring scaled gradients back to their true size (before clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        """Optimiser step; with loss scaling, skipped when a gradient is infinite."""
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
