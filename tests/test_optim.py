"""The row-lazy Adam(W) for sparse embedding gradients gives the dense optimiser's results;
clipping takes sparse gradients; precision settings."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import alignfreeze.optim as optim
from alignfreeze.optim import LazyRowsAdam, clip_grad_norm, finalize, make_optimizer, row_sparse_training
from alignfreeze.precision import Precision, resolve_precision


class Toy(nn.Module):
    def __init__(self, rows: int = 40_000, dim: int = 8):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(rows, dim)
        self.linear = nn.Linear(dim, 3)

    def get_input_embeddings(self):
        return self.embedding

    def forward(self, ids):
        return self.linear(self.embedding(ids)).pow(2).mean()


@pytest.mark.parametrize("name,weight_decay", [("adamw", 0.01), ("adamw", 0.0), ("adam", 0.0)])
def test_lazy_rows_match_the_dense_optimizer(name, weight_decay):
    sparse_model, dense_model = Toy(), Toy()
    batches = [torch.randint(0, 50, (4, 6)) for _ in range(6)]  # rows 0..49 of 40,000: most never touched
    with row_sparse_training(sparse_model) as embedding:
        assert embedding is sparse_model.embedding.weight
        lazy = make_optimizer(sparse_model.parameters(), 1e-2, weight_decay, name, [embedding])
        assert isinstance(lazy, LazyRowsAdam)
        for lr, ids in zip((1e-2, 5e-3, 2e-2, 1e-2, 1e-3, 1e-2), batches):
            for group in lazy.param_groups:
                group["lr"] = lr  # a schedule: the owed decay must follow the changing rate
            sparse_model(ids).backward()
            assert sparse_model.embedding.weight.grad.is_sparse
            lazy.step()
            lazy.zero_grad(set_to_none=True)
        finalize(lazy)
    assert not sparse_model.embedding.sparse  # restored
    dense = optim._dense_optimizer(list(dense_model.parameters()), 1e-2, weight_decay, name)
    for lr, ids in zip((1e-2, 5e-3, 2e-2, 1e-2, 1e-3, 1e-2), batches):
        for group in dense.param_groups:
            group["lr"] = lr
        dense_model(ids).backward()
        dense.step()
        dense.zero_grad(set_to_none=True)
    # Equal up to float rounding: a coalesced sparse gradient sums duplicate rows in another
    # order than the dense one, and Adam's m / sqrt(v) magnifies that where a gradient is ~0.
    for (n, a), (_, b) in zip(sparse_model.named_parameters(), dense_model.named_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=n)
    moved = (sparse_model.embedding.weight - Toy().embedding.weight).abs().sum(1) > 0
    if weight_decay:
        assert moved.all()  # decoupled decay reaches every row, touched or not
    else:
        assert 0 < moved.sum() <= 50  # only touched rows change


def test_adam_with_l2_decay_stays_dense():
    model = Toy()
    with row_sparse_training(model) as embedding:
        assert not isinstance(make_optimizer(model.parameters(), 1e-2, 0.01, "adam", [embedding]), LazyRowsAdam)


def test_small_or_tied_embeddings_stay_dense():
    assert optim.sparse_embedding(Toy(rows=1000)) is None

    class Tied(Toy):
        def get_output_embeddings(self):
            return self.embedding

    assert optim.sparse_embedding(Tied()) is None


def test_clip_grad_norm_takes_sparse_gradients():
    sparse_model, dense_model = Toy(), Toy()
    ids = torch.randint(0, 50, (4, 6))
    with row_sparse_training(sparse_model):
        (100 * sparse_model(ids)).backward()
    (100 * dense_model(ids)).backward()
    total = clip_grad_norm(sparse_model.parameters(), 0.5)
    expected = torch.nn.utils.clip_grad_norm_(dense_model.parameters(), 0.5)
    torch.testing.assert_close(total, expected)
    assert total > 0.5
    for a, b in zip(sparse_model.parameters(), dense_model.parameters()):
        torch.testing.assert_close(a.grad.to_dense() if a.grad.is_sparse else a.grad, b.grad)


def test_finetuning_with_sparse_embeddings_matches_dense(xlmr_tokenizer, monkeypatch):
    from alignfreeze.data import TaggedSentence
    from alignfreeze.finetune import TrainingSettings, finetune, get_task
    from tiny_models import tiny_model

    task = get_task("pos")
    labels = task.label_list([])
    records = [
        TaggedSentence(["the", "cat", "sat"], ["DET", "NOUN", "VERB"]),
        TaggedSentence(["a", "dog"], ["DET", "NOUN"]),
    ] * 4
    features = task.encode(records, xlmr_tokenizer, 32, labels)
    settings = TrainingSettings(epochs=2, batch_size=4, micro_batch_size=2, learning_rate=1e-3, weight_decay=0.01)

    def trained(min_rows: int):
        monkeypatch.setattr(optim, "SPARSE_MIN_ROWS", min_rows)
        model = tiny_model(head="token", layers=2)
        model.classifier = nn.Linear(model.config.hidden_size, len(labels))
        model.num_labels = model.config.num_labels = len(labels)
        result = finetune(model, xlmr_tokenizer, task, features, settings, seed=0, progress=False)
        return model, result

    # (This caught accelerate's load_state_dict() cutting the dense parameters off the schedule.)
    sparse, sparse_result = trained(30_000)
    dense, dense_result = trained(10**9)
    assert sparse_result.losses == pytest.approx(dense_result.losses, rel=1e-5)
    for (n, a), (_, b) in zip(sparse.named_parameters(), dense.named_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=n)


def test_precision_resolution_and_bf16_on_cpu(xlmr_tokenizer):
    import torch

    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "tf32"
    assert resolve_precision("tf32", torch.device("cpu")) == "fp32"
    with pytest.raises(Exception, match="unknown precision 'fp8'"):
        resolve_precision("fp8", torch.device("cpu"))
    amp = Precision("bf16", "cpu")
    layer = nn.Linear(4, 4)
    with amp.autocast():
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    with Precision("fp32", "cpu").autocast():
        assert layer(torch.ones(2, 4)).dtype == torch.float32


def test_a_tiny_run_agrees_in_bf16_and_fp32(xlmr_tokenizer):
    """The same fine-tuning in bf16 autocast and in fp32, on the CPU: the losses agree within
    bf16's precision (8 bits of mantissa: relative 2^-8 per operation; we allow 5% on the loss
    after 6 steps) and so do the trained weights (mean absolute difference < 5% of the update)."""
    from alignfreeze.data import TaggedSentence
    from alignfreeze.finetune import TrainingSettings, finetune, get_task
    from tiny_models import tiny_model

    task = get_task("pos")
    labels = task.label_list([])
    records = [
        TaggedSentence(["the", "cat", "sat", "on", "the", "mat"], ["DET", "NOUN", "VERB", "ADP", "DET", "NOUN"]),
        TaggedSentence(["a", "dog", "ran"], ["DET", "NOUN", "VERB"]),
    ] * 6
    features = task.encode(records, xlmr_tokenizer, 32, labels)
    start = tiny_model(head="token", layers=2)
    start.classifier = nn.Linear(start.config.hidden_size, len(labels))
    start.num_labels = start.config.num_labels = len(labels)
    runs = {}
    for precision in ("fp32", "bf16"):
        model = copy.deepcopy(start)
        settings = TrainingSettings(epochs=1, batch_size=2, micro_batch_size=2, learning_rate=1e-3, precision=precision)
        result = finetune(model, xlmr_tokenizer, task, features, settings, seed=0, progress=False)
        assert result.precision == precision
        runs[precision] = (model, result.losses)
    (fp32, fp32_losses), (bf16, bf16_losses) = runs["fp32"], runs["bf16"]
    assert len(fp32_losses) == 6
    assert bf16_losses == pytest.approx(fp32_losses, rel=0.05)
    assert bf16_losses != fp32_losses  # bf16 did run in lower precision
    update = torch.cat([(a - b).flatten() for a, b in zip(fp32.parameters(), start.parameters())]).abs().mean()
    gap = torch.cat([(a - b).flatten() for a, b in zip(fp32.parameters(), bf16.parameters())]).abs().mean()
    assert gap < 0.05 * update


def test_losses_are_read_in_bunches_and_the_first_bad_step_is_named():
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.optim import SYNC_EVERY, read_losses

    losses = [torch.tensor(float(i)) for i in range(1, 41)]
    assert read_losses(losses[:5], 5, 40, "{value} at {step}") is None  # not a reading step: no wait on the device
    assert read_losses(losses[:SYNC_EVERY], SYNC_EVERY, 40, "{value} at {step}") == [float(i) for i in range(1, 17)]
    assert read_losses(losses[:40], 40, 40, "{value} at {step}") == [float(i) for i in range(33, 41)]  # the last bunch
    losses[20] = torch.tensor(float("nan"))  # step 21
    losses[22] = torch.tensor(float("inf"))
    with pytest.raises(AlignfreezeError, match="nan at 21"):
        read_losses(losses[:32], 32, 40, "{value} at {step}")
