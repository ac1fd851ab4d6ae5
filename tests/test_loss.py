"""The contrastive loss against values computed by hand on a three-word example."""

from __future__ import annotations

import math

import pytest
import torch

from alignfreeze.realign import ContrastiveAlignmentLoss, projection_head

# Source words s0=(1,0), s1=(0,1), s2=(1,1); target words t0=(1,0), t1=(0,2), t2=(-1,1);
# links s0-t0, s1-t1, s2-t2. With r = 1/sqrt(2), the cosines are:
#        s0   s1   s2   t0   t1   t2
#   s0    -    0    r    1    0   -r
#   s1    0    -    r    0    1    r
#   s2    r    r    -    r    r    0
#   t0    1    0    r    -    0   -r
#   t1    0    1    r    0    -    r
#   t2   -r    r    0   -r    r    -
SRC = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
TGT = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]])
LINKS = torch.tensor([[0, 0], [1, 1], [2, 2]])
R = 1 / math.sqrt(2)
E = math.exp


def nll(positive: float, candidates: list[float], tau: float = 0.1) -> float:
    return -positive / tau + math.log(sum(E(c / tau) for c in candidates))


def test_strong_alignment_by_hand():
    per_query = [
        nll(1, [0, R, 1, 0, -R]),  # s0 -> t0, candidates s1 s2 t0 t1 t2
        nll(1, [0, R, 0, 1, R]),  # s1 -> t1, candidates s0 s2 t0 t1 t2
        nll(0, [R, R, R, R, 0]),  # s2 -> t2, candidates s0 s1 t0 t1 t2
        nll(1, [1, 0, R, 0, -R]),  # t0 -> s0, candidates s0 s1 s2 t1 t2
        nll(1, [0, 1, R, 0, R]),  # t1 -> s1, candidates s0 s1 s2 t0 t2
        nll(0, [-R, R, 0, -R, R]),  # t2 -> s2, candidates s0 s1 s2 t0 t1
    ]
    loss = ContrastiveAlignmentLoss(0.1, "strong")(SRC, TGT, LINKS)
    assert loss.item() == pytest.approx(sum(per_query) / 6, rel=1e-5)


def test_weak_alignment_by_hand():
    per_query = [
        nll(1, [1, 0, -R]),  # s0 against t0 t1 t2
        nll(1, [0, 1, R]),
        nll(0, [R, R, 0]),
        nll(1, [1, 0, R]),  # t0 against s0 s1 s2
        nll(1, [0, 1, R]),
        nll(0, [-R, R, 0]),
    ]
    loss = ContrastiveAlignmentLoss(0.1, "weak")(SRC, TGT, LINKS)
    assert loss.item() == pytest.approx(sum(per_query) / 6, rel=1e-5)


def test_temperature_and_subset_of_links():
    # Only s1-t1 linked, tau = 0.5: two queries.
    expected = (nll(1, [0, R, 0, 1, R], 0.5) + nll(1, [0, 1, R, 0, R], 0.5)) / 2
    loss = ContrastiveAlignmentLoss(0.5, "strong")(SRC, TGT, torch.tensor([[1, 1]]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_flows_and_bad_arguments():
    src = SRC.clone().requires_grad_()
    ContrastiveAlignmentLoss()(src, TGT, LINKS).backward()
    assert src.grad is not None and torch.isfinite(src.grad).all()
    with pytest.raises(ValueError, match="unknown alignment mode"):
        ContrastiveAlignmentLoss(mode="medium")
    with pytest.raises(ValueError, match="no aligned word"):
        ContrastiveAlignmentLoss()(SRC, TGT, torch.zeros((0, 2), dtype=torch.long))


def test_projection_heads():
    mlp = projection_head("mlp", 768)
    assert [tuple(p.shape) for p in mlp.parameters()] == [(768, 768), (128, 768)]
    assert all(not isinstance(m, torch.nn.Linear) or m.bias is None for m in mlp.modules())
    assert projection_head("linear", 384)(torch.zeros(2, 384)).shape == (2, 128)
    assert isinstance(projection_head("none", 384), torch.nn.Identity)
