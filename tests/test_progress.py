"""Progress reporting: bars that also report to a callback or a file (for grid workers)."""

from __future__ import annotations

import json

from alignfreeze.progress import file_reporter, progress_bar, report, reporting_to


def test_bars_report_every_step_inside_reporting_to_even_when_disabled():
    statuses = []
    with reporting_to(statuses.append):
        report("loading")
        bar = progress_bar(range(3), desc="train", disable=True)
        for step in bar:
            bar.set_postfix(loss=f"{1.0 / (step + 1):.3f}", refresh=False)
    assert statuses[0] == {"desc": "loading", "done": 0, "total": None, "postfix": ""}
    assert [(s["done"], s["total"]) for s in statuses[1:]] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert statuses[-1]["postfix"] == "loss=0.333"
    # Outside the block nothing is reported and the bar is a plain tqdm bar.
    statuses.clear()
    assert list(progress_bar(range(2), desc="x", disable=True)) == [0, 1] and not statuses


def test_file_reporter_throttles_but_keeps_phase_boundaries(tmp_path):
    path = tmp_path / "progress.json"
    writes = []
    reporter = file_reporter(path, min_interval=3600)
    with reporting_to(lambda status: (reporter(status), writes.append(json.loads(path.read_text())))):
        for _ in progress_bar(range(100), desc="fine-tune", disable=True):
            pass
        report("evaluate", 0, 2)
    descs = [(w["desc"], w["done"]) for w in writes]
    # Within the hour only the first step of a phase and its last one are written.
    assert ("fine-tune", 0) in descs and ("fine-tune", 50) not in descs
    assert json.loads(path.read_text())["desc"] == "evaluate"
    assert descs[100] == ("fine-tune", 100)  # the phase's last step was written when it happened
