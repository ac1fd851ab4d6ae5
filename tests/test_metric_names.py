"""One codec for the per-layer alignment metric names: what is written reads back."""

from __future__ import annotations

import pytest

from alignfreeze.metric_names import DIRECTIONS, alignment_metric, alignment_series, parse_alignment_metric


def test_alignment_metric_names_round_trip():
    for mode in ("weak", "strong", "mutual2"):  # any mode name, registered ones included
        for direction in DIRECTIONS:
            for layer in (0, 3, 12, 24):
                name = alignment_metric(mode, direction, layer)
                assert parse_alignment_metric(name) == (mode, direction, layer)
                assert name == f"{alignment_series(mode, direction)}_L{layer}"
    assert alignment_metric("strong", "fwd", 12) == "alignment_strong_fwd_L12"


@pytest.mark.parametrize(
    "name",
    ["accuracy", "alignment_strong_fwd", "alignment_a_b_fwd_L3", "alignment_weak_up_L3", "xalignment_weak_fwd_L3"],
)
def test_other_metrics_are_not_alignment(name):
    assert parse_alignment_metric(name) is None


def test_a_name_that_would_not_read_back_is_refused():
    with pytest.raises(ValueError, match="mode 'a_b'"):
        alignment_metric("a_b", "fwd", 1)
    with pytest.raises(ValueError, match="direction 'up'"):
        alignment_metric("weak", "up", 1)
