"""Every command of ``alignfreeze --help`` against a table of bad inputs (issue 18): each ends
with exit status 2, at most 2 lines of output, the message that names the file:line, the
option or the ``--set`` at fault, and no traceback.

The cases run in this process, through :func:`alignfreeze.cli.app.main` with ``sys.argv``
patched (the real exit path, ``SystemExit`` included); a few run as real subprocesses too.
Every input is tiny and every case fails before any model is loaded, so the table takes
seconds."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import write
from fixtures_tasks import make_data_root


@dataclass
class Case:
    """``args`` and ``expect`` may hold ``{d}`` (the inputs folder) and ``{ro}`` (a folder
    nothing can be created in); ``expect`` is a regular expression searched in the output."""

    id: str
    args: list[str]
    expect: str
    env: dict = field(default_factory=dict)


def _cases() -> list[Case]:
    c = []
    M = ["--model", "{d}/broken-model"]  # never loaded: each case fails before

    def add(id, args, expect, env=None):
        c.append(Case(id, args, expect, env or {}))

    # --- the command line itself ------------------------------------------------------
    add("unknown-command", ["bogus"], r"No such command 'bogus'")
    add("top-level-unknown-option", ["--bogus"], r"No such option: --bogus")

    # --- prepare-model --------------------------------------------------------------------
    add("prepare-model-extra-argument", ["prepare-model", "e5-small", "x"], r"unexpected extra argument")
    add(
        "prepare-model-unknown-name",
        ["prepare-model", "x"],
        r"unknown embedded model 'x' \(known: e5-small, gemma3-270m\)",
    )
    add("prepare-model-unknown-option", ["prepare-model", "--fast"], r"No such option: --fast")
    add(
        "prepare-model-home-is-a-file",
        ["prepare-model"],
        r"ALIGNFREEZE_HOME .*afile.* is a file",
        env={"ALIGNFREEZE_HOME": "{d}/afile"},
    )

    # --- doctor -----------------------------------------------------------------------------
    add("doctor-data-dir-file", ["doctor", "--data-dir", "{d}/afile"], r"'--data-dir': .*afile is a file, not a folder")
    add("doctor-unknown-option", ["doctor", "--yaml"], r"No such option: --yaml")
    add("doctor-json-value", ["doctor", "--json=yes"], r"Option '--json' does not take a value")
    add(
        "doctor-home-is-a-file",
        ["doctor"],
        r"ALIGNFREEZE_HOME .*afile.* is a file",
        env={"ALIGNFREEZE_HOME": "{d}/afile"},
    )

    # --- read-data ----------------------------------------------------------------------------
    add("read-data-missing", ["read-data", "{d}/none.conllu", "--format", "conllu"], r"none.conllu: file not found")
    add("read-data-folder", ["read-data", "{d}/emptydir", "--format", "conllu"], r"emptydir: not a regular file")
    add("read-data-format", ["read-data", "{d}/afile", "--format", "csv"], r"unknown format 'csv'")
    add("read-data-no-format", ["read-data", "{d}/afile"], r"Missing option '--format'")
    add(
        "read-data-pharaoh-bad-link",
        ["read-data", "{d}/links-bad.txt", "--format", "pharaoh", "--zero-based"],
        r"links-bad.txt:2: bad link '1x1'",
    )
    add(
        "read-data-parallel-tgt-missing",
        ["read-data", "{d}/src.txt", "--format", "parallel", "--tgt", "{d}/none.txt"],
        r"none.txt: file not found",
    )

    # --- align ----------------------------------------------------------------------------------
    align = ["align", "--method", "dictionary", "--src-lang", "en", "--tgt-lang", "fr", "--out", "{d}/cwd/a.jsonl"]
    files = ["--src-file", "{d}/src.txt", "--tgt-file", "{d}/tgt.txt"]
    add(
        "align-negative-limit",
        [*align, *files, "--limit", "-440"],
        r"'--limit': Input should be greater than or equal to 1",
    )
    add("align-zero-limit", [*align, *files, "--limit", "0"], r"'--limit': Input should be greater than or equal to 1")
    add(
        "align-src-lang-upper",
        [*align[:3], "--src-lang", "EN", *align[5:], *files],
        r"'--src-lang': language 'EN' is not an ISO 639 code",
    )
    add(
        "align-tgt-lang-bogus",
        [*align[:5], "--tgt-lang", "french", *align[7:], *files],
        r"'--tgt-lang': language 'french' is not an ISO 639 code",
    )
    add("align-no-input", align, r"give --src-file and --tgt-file, or --parallel-file")
    add(
        "align-src-missing",
        [*align, "--src-file", "{d}/none.txt", "--tgt-file", "{d}/tgt.txt"],
        r"none.txt: file not found",
    )
    add(
        "align-sides-differ",
        [*align, "--src-file", "{d}/src.txt", "--tgt-file", "{d}/tgt-short.txt"],
        r"tgt-short.txt:2: parallel files differ in length",
    )
    add(
        "align-method-bogus",
        ["align", "--method", "bogus", *align[3:], *files],
        r"--method 'bogus': use one of dictionary, eflomal, embedding, pharaoh",
    )
    add("align-links-without-pharaoh", [*align, *files, "--links", "{d}/gold.txt"], r"--links applies to")
    add("align-pharaoh-without-links", ["align", "--method", "pharaoh", *align[3:], *files], r"needs --links")
    add(
        "align-pharaoh-link-out-of-range",
        ["align", "--method", "pharaoh", *align[3:], *files, "--links", "{d}/links-far.txt", "--links-one-based"],
        r"links-far.txt:1: link 9-1 points past the source sentence's end \(2 words, 1-2\)",
    )
    add(
        "align-out-parent-is-a-file",
        [*align[:-1], "{d}/afile/a.jsonl", *files],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "align-out-unwritable", [*align[:-1], "{ro}/a/a.jsonl", *files], r"cannot create --out \S+: \S+ is not writable"
    )
    add("align-setting-bogus", [*align, *files, "--keep-one-to-one", "--bogus"], r"No such option: --bogus")
    add("align-limit-text", [*align, *files, "--limit", "many"], r"'--limit': Input should be a valid integer")

    # --- align-eval -------------------------------------------------------------------------------
    ae = ["align-eval", "--gold", "{d}/gold.txt"]
    add("align-eval-pairs-file-link-past-end", [*ae, "--pred", "{d}/pairs-far.jsonl"], r"pairs-far.jsonl:2: .*link 7-1")
    add(
        "align-eval-gold-past-the-sentences",
        ["align-eval", "--gold", "{d}/gold-far.txt", "--pred", "{d}/gold.txt", "--sentences", "{d}/src-tgt.txt"],
        r"gold-far.txt:1: link 0-5 points past the target sentence's end",
    )
    add(
        "align-eval-sentences-count",
        [*ae, "--pred", "{d}/gold.txt", "--sentences", "{d}/tgt-short.txt"],
        r"tgt-short.txt:1: expected 'source \|\|\| target'",
    )
    add(
        "align-eval-pred-out-of-range",
        ["align-eval", "--gold", "{d}/gold.txt", "--pred", "{d}/pred-999.txt", "--sentences", "{d}/src-tgt.txt"],
        r"pred-999.txt:1: link 999-1 points past the source sentence's end \(2 words, 0-1\)",
    )
    add(
        "align-eval-pred-out-of-range-1-based",
        [*ae, "--pred", "{d}/pred-far-1.txt", "--pred-one-based", "--sentences", "{d}/src-tgt.txt"],
        r"pred-far-1.txt:2: link 1-9 points past the target sentence's end \(3 words, 1-3\)",
    )
    add(
        "align-eval-gold-past-the-pairs",
        ["align-eval", "--gold", "{d}/gold-far.txt", "--pred", "{d}/pairs.jsonl"],
        r"gold-far.txt:1: link 0-5 points past the target sentence's end \(2 words, 0-1\) of .*pairs.jsonl",
    )
    add(
        "align-eval-gold-missing",
        ["align-eval", "--gold", "{d}/none.txt", "--pred", "{d}/gold.txt"],
        r"none.txt: file not found",
    )
    add(
        "align-eval-zero-in-1-based",
        ["align-eval", "--gold", "{d}/gold.txt", "--pred", "{d}/gold.txt", "--gold-one-based"],
        r"gold.txt:1: .*index 0 .*1-based",
    )
    add(
        "align-eval-pred-bad-link",
        ["align-eval", "--gold", "{d}/gold.txt", "--pred", "{d}/links-bad.txt"],
        r"links-bad.txt:2: bad link",
    )
    add(
        "align-eval-line-count",
        [*ae, "--pred", "{d}/pred-one-line.txt"],
        r"pred-one-line.txt has 1 lines but \S+gold.txt has 2",
    )
    add("align-eval-no-gold", ["align-eval", "--pred", "{d}/gold.txt"], r"Missing option '--gold'")

    # --- realign ------------------------------------------------------------------------------
    realign = ["realign", "--pairs", "{d}/pairs.jsonl", *M]
    add("realign-model-file", [*realign, "--model", "{d}/afile"], r"'--model': .*afile is a file")
    add(
        "realign-model-empty-folder",
        [*realign, "--model", "{d}/emptydir"],
        r"'--model': the folder .*emptydir has no config.json",
    )
    add("realign-pairs-missing", ["realign", "--pairs", "{d}/none.jsonl", *M], r"none.jsonl: file not found")
    add("realign-pairs-not-pairs", ["realign", "--pairs", "{d}/src.txt", *M], r"src.txt:1: not an aligned-pairs file")
    add("realign-steps-negative", [*realign, "--steps", "-1"], r"--steps '-1': steps must be at least 1")
    add("realign-freeze-bogus", [*realign, "--freeze", "top"], r"unknown freeze spec 'top'")
    add("realign-seed-negative", [*realign, "--seed", "-1"], r"'--seed': Input should be greater than or equal to 0")
    add("realign-precision-bogus", [*realign, "--precision", "fp8"], r"'--precision': 'fp8': Input should be 'auto'")
    add(
        "realign-out-parent-is-a-file",
        [*realign, "--out", "{d}/afile/m"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add("realign-out-unwritable", [*realign, "--out", "{ro}/a/m"], r"cannot create --out \S+: \S+ is not writable")

    # --- translation-check ----------------------------------------------------------------------
    tc = ["translation-check", *M, "--pair", "en-fr", "--data-dir", "{d}/data"]
    add("translation-check-n-1", [*tc, "-n", "1"], r"'-n': Input should be greater than or equal to 2")
    add("translation-check-n-negative", [*tc, "-n", "-3"], r"'-n': Input should be greater than or equal to 2")
    add(
        "translation-check-pair-bogus",
        ["translation-check", *M, "--pair", "enfr"],
        r"--pair 'enfr': language pair 'enfr' must look like en-fr",
    )
    add(
        "translation-check-pair-upper",
        ["translation-check", *M, "--pair", "EN-fr"],
        r"--pair 'EN-fr': language 'EN' is not an ISO 639 code",
    )
    add(
        "translation-check-model-file",
        [*tc, "--model", "{d}/afile"],
        r"'--model': .*afile is a file; a model is a folder",
    )
    add("translation-check-data-dir-file", [*tc[:-1], "{d}/afile"], r"'--data-dir': .*afile is a file, not a folder")
    add("translation-check-missing-data", [*tc[:-1], "{d}/emptydir"], r"no parallel data for language 'en-fr'")

    # --- measure-alignment ----------------------------------------------------------------------
    ma = ["measure-alignment", "--pairs", "{d}/pairs.jsonl", *M]
    add(
        "measure-alignment-out-parent-is-a-file",
        [*ma, "--out", "{d}/afile/m"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add("measure-alignment-out-unwritable", [*ma, "--out", "{ro}/a/m"], r"cannot create --out \S+: \S+ is not writable")
    add(
        "measure-alignment-pairs-missing",
        ["measure-alignment", "--pairs", "{d}/none.jsonl", *M, "--out", "{d}/cwd/m"],
        r"--pairs '\S+none.jsonl' is neither an aligned-pairs file nor a language pair",
    )
    add(
        "measure-alignment-n-pairs-negative",
        [*ma, "--out", "{d}/cwd/m", "--n-pairs", "-5"],
        r"--n-pairs '-5': Input should be greater than or equal to 2",
    )
    add("measure-alignment-layers-bogus", [*ma, "--out", "{d}/cwd/m", "--layers", "x"], r"--layers.*'x'")
    add(
        "measure-alignment-model-file",
        [*ma, "--out", "{d}/cwd/m", "--model", "{d}/afile"],
        r"'--model': .*afile is a file; a model is a folder",
    )

    # --- plot-alignment --------------------------------------------------------------------------
    pa = ["plot-alignment", "{d}/alignment.csv"]
    add("plot-alignment-missing-csv", ["plot-alignment", "{d}/none.csv", "--out", "{d}/cwd/p.png"], r"none.csv")
    add(
        "plot-alignment-not-alignment",
        ["plot-alignment", "{d}/results.csv", "--out", "{d}/cwd/p.png"],
        r"results.csv: not an alignment CSV",
    )
    add(
        "plot-alignment-mode-bogus",
        [*pa, "--out", "{d}/cwd/p.png", "--mode", "medium"],
        r"'--mode': 'medium' is not one of 'weak', 'strong'",
    )
    add(
        "plot-alignment-direction-bogus",
        [*pa, "--out", "{d}/cwd/p.png", "--direction", "up"],
        r"'--direction': 'up' is not one of 'fwd', 'bwd'",
    )
    add(
        "plot-alignment-out-parent-is-a-file",
        [*pa, "--out", "{d}/afile/p.png"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "plot-alignment-out-unwritable", [*pa, "--out", "{ro}/a/p.png"], r"cannot create --out \S+: \S+ is not writable"
    )

    # --- correlate --------------------------------------------------------------------------------
    co = ["correlate", "--task", "pos", "--out", "{d}/cwd/corr"]
    add(
        "correlate-non-numeric-value", [*co, "{d}/results-text.csv"], r"results-text.csv:3: value 'abc' is not a number"
    )
    add("correlate-non-numeric-seed", [*co, "{d}/results-seed.csv"], r"results-seed.csv:2: seed 'x' is not an integer")
    add("correlate-nan", [*co, "{d}/results-nan.csv"], r"results-nan.csv:3: value 'nan'")
    add("correlate-missing", [*co, "{d}/none.csv"], r"none.csv: no such results file")
    add(
        "correlate-task-bogus",
        ["correlate", "--task", "parsing", "--out", "{d}/cwd/corr", "{d}/results.csv"],
        r"'--task': 'parsing' is not one of 'pos', 'ner', 'nli', 'qa'",
    )
    add("correlate-mode-bogus", [*co, "{d}/results.csv", "--mode", "medium"], r"'--mode': 'medium' is not one of")
    add(
        "correlate-direction-bogus",
        [*co, "{d}/results.csv", "--direction", "up"],
        r"'--direction': 'up' is not one of 'fwd', 'bwd', 'mean'",
    )
    add("correlate-stage-bogus", [*co, "{d}/results.csv", "--stage", "later"], r"'--stage': 'later' is not one of")
    add("correlate-layer-bogus", [*co, "{d}/results.csv", "--layer", "top"], r"--layer 'top'")
    add(
        "correlate-resamples-negative",
        [*co, "{d}/results.csv", "--resamples", "-1"],
        r"'--resamples': Input should be greater than or equal to 1",
    )
    add("correlate-seed-negative", [*co, "{d}/results.csv", "--seed", "-1"], r"'--seed': .* greater than or equal to 0")
    add(
        "correlate-out-parent-is-a-file",
        ["correlate", "--task", "pos", "--out", "{d}/afile/c", "{d}/results.csv"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )

    # --- sweep-freeze -----------------------------------------------------------------------------
    sf = ["sweep-freeze", "--realign-pairs", "{d}/pairs.jsonl", "--eval-pairs", "{d}/pairs.jsonl", *M]
    add(
        "sweep-freeze-step-zero",
        [*sf, "--out", "{d}/cwd/s", "--step", "0"],
        r"'--step': Input should be greater than or equal to 1",
    )
    add(
        "sweep-freeze-step-negative",
        [*sf, "--out", "{d}/cwd/s", "--step", "-2"],
        r"'--step': Input should be greater than or equal to 1",
    )
    add(
        "sweep-freeze-mode-bogus",
        [*sf, "--out", "{d}/cwd/s", "--mode", "medium"],
        r"'--mode': 'medium' is not one of 'weak', 'strong'",
    )
    add(
        "sweep-freeze-pairs-missing",
        ["sweep-freeze", "--realign-pairs", "{d}/none.jsonl", *sf[3:], "--out", "{d}/cwd/s"],
        r"'\S+none.jsonl' is neither an aligned-pairs file nor a language pair",
    )
    add(
        "sweep-freeze-experiment-missing",
        [*sf, "--out", "{d}/cwd/s", "--experiment", "{d}/none.yaml"],
        r"none.yaml: file not found",
    )
    add(
        "sweep-freeze-model-file",
        [*sf, "--out", "{d}/cwd/s", "--model", "{d}/afile"],
        r"'--model': .*afile is a file; a model is a folder",
    )
    add(
        "sweep-freeze-out-parent-is-a-file",
        [*sf, "--out", "{d}/afile/s"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "sweep-freeze-seed-negative",
        [*sf, "--out", "{d}/cwd/s", "--seed", "-1"],
        r"'--seed': .* greater than or equal to 0",
    )

    # --- run --------------------------------------------------------------------------------------
    run = ["run", "{d}/exp.yaml", "--out", "{d}/cwd/r"]
    add("run-set-through-a-string", [*run, "--set", "task.x=1"], r"--set 'task.x=1': task is 'pos', not a mapping")
    add("run-set-index-out-of-range", [*run, "--set", "eval.5.limit=1"], r"--set 'eval.5.limit=1': eval has 1 entry")
    add("run-set-index-not-a-number", [*run, "--set", "eval.x.limit=1"], r"--set 'eval.x.limit=1': eval is a list")
    add("run-set-bad-yaml", [*run, "--set", "seeds=[0"], r"--set 'seeds=\[0': not valid YAML")
    add("run-set-no-key", [*run, "--set", "=1"], r"--set '=1': no setting before '='")
    add("run-set-empty-key-part", [*run, "--set", "training..epochs=1"], r"--set 'training..epochs=1': .*empty")
    add("run-set-no-equals", [*run, "--set", "seeds"], r"--set 'seeds': expected key.path=value")
    add("run-set-unknown-key", [*run, "--set", "trainig.epochs=1"], r"--set 'trainig.epochs=1'.*trainig")
    add(
        "run-set-bad-value",
        [*run, "--set", "training.epochs=many"],
        r"invalid configuration: --set 'training.epochs=many': training.epochs: Input should be a valid number",
    )
    add(
        "run-set-negative-seed",
        [*run, "--set", "seeds=[-1]"],
        r"--set 'seeds=\[-1\]': seeds.0: Input should be greater than or equal to 0",
    )
    add("run-config-missing", ["run", "{d}/none.yaml"], r"none.yaml: file not found")
    add("run-config-folder", ["run", "{d}/emptydir"], r"emptydir: not a regular file")
    add("run-config-bad-yaml", ["run", "{d}/broken.yaml"], r"broken.yaml:3:1: not valid YAML")
    add("run-config-not-a-mapping", ["run", "{d}/list.yaml"], r"list.yaml: expected a mapping")
    add(
        "run-config-bad-field",
        ["run", "{d}/exp-bad-field.yaml"],
        r"invalid configuration in \S+exp-bad-field.yaml: trainig: Extra inputs are not permitted",
    )
    add("run-model-file", ["run", "{d}/exp-model-file.yaml", "--out", "{d}/cwd/r1"], r"model .*afile.* is a file")
    add(
        "run-model-empty-folder",
        ["run", "{d}/exp-model-empty.yaml", "--out", "{d}/cwd/r2"],
        r"emptydir.* has no config.json",
    )
    add(
        "run-out-parent-is-a-file",
        ["run", "{d}/exp.yaml", "--out", "{d}/afile/r"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "run-out-unwritable",
        ["run", "{d}/exp.yaml", "--out", "{ro}/a/r"],
        r"cannot create --out \S+: \S+ is not writable",
    )
    add("run-data-dir-file", [*run, "--data-dir", "{d}/afile"], r"'--data-dir': .*afile is a file, not a folder")
    add(
        "run-eval-file-empty",
        ["run", "{d}/exp.yaml", "--out", "{d}/cwd/r3", "--data-dir", "{d}/data-empty-eval"],
        r"fr_toy-ud-test.conllu.*empty",
    )

    # --- fetch ------------------------------------------------------------------------------------
    add(
        "fetch-data-dir-file",
        ["fetch", "{d}/exp.yaml", "--data-dir", "{d}/afile"],
        r"'--data-dir': .*afile is a file, not a folder",
    )
    add(
        "fetch-dry-run-data-dir-file",
        ["fetch", "{d}/exp.yaml", "--dry-run", "--data-dir", "{d}/afile"],
        r"'--data-dir': .*afile is a file, not a folder",
    )
    add("fetch-config-missing", ["fetch", "{d}/none.yaml", "--dry-run"], r"none.yaml: file not found")
    add(
        "fetch-set-bad",
        ["fetch", "{d}/exp.yaml", "--dry-run", "--set", "task.x=1"],
        r"--set 'task.x=1': task is 'pos', not a mapping",
    )
    add(
        "fetch-hub-mirror-file",
        ["fetch", "{d}/exp.yaml", "--hub-mirror", "{d}/afile", "--data-dir", "{d}/data"],
        r"'--hub-mirror': .*afile' is a file",
    )

    # --- grid -------------------------------------------------------------------------------------
    grid = ["grid", "{d}/grid.yaml"]
    add("grid-address-with-local", [*grid, "--out", "{d}/cwd/g", "--address", "auto"], r"--address .*ray")
    add(
        "grid-executor-bogus",
        [*grid, "--out", "{d}/cwd/g", "--executor", "slurm"],
        r"'--executor': 'slurm' is not one of 'local', 'ray'",
    )
    add(
        "grid-max-parallel-negative",
        [*grid, "--out", "{d}/cwd/g", "--max-parallel", "-1"],
        r"--max-parallel -1: runs at a time must be 1 or more",
    )
    add(
        "grid-set-bad",
        [*grid, "--dry-run", "--set", "methods.9.freeze=front"],
        r"--set 'methods.9.freeze=front': methods has 2 entries",
    )
    add(
        "grid-out-parent-is-a-file",
        [*grid, "--out", "{d}/afile/g"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add("grid-out-unwritable", [*grid, "--out", "{ro}/a/g"], r"cannot create --out \S+: \S+ is not writable")
    add("grid-config-missing", ["grid", "{d}/none.yaml"], r"none.yaml: file not found")
    add(
        "grid-data-dir-file",
        [*grid, "--dry-run", "--data-dir", "{d}/afile"],
        r"'--data-dir': .*afile is a file, not a folder",
    )

    # --- report -----------------------------------------------------------------------------------
    add(
        "report-non-numeric-value",
        ["report", "{d}/results-text.csv"],
        r"results-text.csv:3: value 'abc' is not a number",
    )
    add("report-nan", ["report", "{d}/results-nan.csv"], r"results-nan.csv:3: value 'nan' is not a number")
    add("report-inf", ["report", "{d}/results-inf.csv"], r"results-inf.csv:2: value 'inf'")
    add("report-empty-value", ["report", "{d}/results-blank.csv"], r"results-blank.csv:4: value '' is not a number")
    add(
        "report-non-numeric-seed", ["report", "{d}/results-seed.csv"], r"results-seed.csv:2: seed 'x' is not an integer"
    )
    add("report-extra-field", ["report", "{d}/results-extra.csv"], r"results-extra.csv:3: expected 11 fields, found 12")
    add(
        "report-missing-field",
        ["report", "{d}/results-short.csv"],
        r"results-short.csv:2: expected 11 fields, found 10",
    )
    add("report-header-only", ["report", "{d}/results-header.csv"], r"results-header.csv: not a results file \(empty\)")
    add("report-missing", ["report", "{d}/none.csv"], r"none.csv: no such results file")
    add("report-format-bogus", ["report", "{d}/results.csv", "--format", "pdf"], r"'--format': 'pdf' is not one of")
    add(
        "report-rounding-bogus",
        ["report", "{d}/results.csv", "--rounding", "up"],
        r"'--rounding': 'up' is not one of 'format', 'half_up'",
    )
    add("report-metric-bogus", ["report", "{d}/results.csv", "--metric", "pos"], r"--metric 'pos'")
    add("report-html-without-out", ["report", "{d}/results.csv", "--format", "html"], r"--format html needs --out")
    add(
        "report-out-parent-is-a-file",
        ["report", "{d}/results.csv", "--out", "{d}/afile/r"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "report-out-unwritable",
        ["report", "{d}/results.csv", "--out", "{ro}/a/r"],
        r"cannot create --out \S+: \S+ is not writable",
    )
    add(
        "report-alignment-missing",
        ["report", "{d}/results.csv", "--alignment", "{d}/none"],
        r"none: no alignment.csv with its alignment.json",
    )

    # --- import-reference -------------------------------------------------------------------------
    ir = ["import-reference", "{d}/reference.csv"]
    add(
        "import-reference-out-parent-is-a-file",
        [*ir, "--out", "{d}/afile/r.csv"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add(
        "import-reference-out-unwritable",
        [*ir, "--out", "{ro}/a/r.csv"],
        r"cannot create --out \S+: \S+ is not writable",
    )
    add("import-reference-out-folder", [*ir, "--out", "{d}/emptydir"], r"--out .*emptydir.* is a folder")
    add(
        "import-reference-missing",
        ["import-reference", "{d}/none.csv", "--out", "{d}/cwd/i.csv"],
        r"none.csv: file not found",
    )
    add(
        "import-reference-not-reference",
        ["import-reference", "{d}/results.csv", "--out", "{d}/cwd/i.csv"],
        r"results.csv:1:1: unknown column 'run_id'",
    )
    add(
        "import-reference-non-numeric",
        ["import-reference", "{d}/reference-text.csv", "--out", "{d}/cwd/i.csv"],
        r"reference-text.csv:2:5: column final_eval_fr_accuracy: 'lots' is not a number",
    )
    add("import-reference-no-out", ir, r"Missing option '--out'")

    # --- more of each command's options ----------------------------------------------------------
    add(
        "read-data-pharaoh-no-base",
        ["read-data", "{d}/gold.txt", "--format", "pharaoh"],
        r"pharaoh links: say whether indices are 1-based \(--one-based\)",
    )
    add(
        "align-parallel-no-separator",
        [*align, "--parallel-file", "{d}/src.txt"],
        r"src.txt:1: expected 'source \|\|\| target'",
    )
    add(
        "report-source-language-upper",
        ["report", "{d}/results.csv", "--source-language", "EN"],
        r"--source-language 'EN': language 'EN' is not an ISO 639 code",
    )
    add(
        "report-baseline-missing",
        ["report", "{d}/results.csv", "--baseline", "nothing"],
        r"no 'nothing' rows to compare with",
    )
    add(
        "correlate-method-missing",
        [*co, "{d}/results.csv", "--method", "nothing"],
        r"no pos rows of method 'nothing' \(found: baseline\)",
    )
    add("correlate-no-alignment-rows", [*co, "{d}/results.csv"], r"no strong alignment rows at stage 'finetuned'")
    add(
        "import-reference-seed-text",
        ["import-reference", "{d}/reference-seed.csv", "--out", "{d}/cwd/i.csv"],
        r"reference-seed.csv:2:1: seed 'first' is not a number",
    )
    add(
        "plot-alignment-accuracy-text",
        ["plot-alignment", "{d}/alignment-text.csv", "--out", "{d}/cwd/p.png"],
        r"alignment-text.csv:2: .*accuracy 'high'",
    )
    add(
        "report-alignment-accuracy-text",
        ["report", "{d}/results.csv", "--alignment", "{d}/measured"],
        r"measured/alignment.csv:2: accuracy 'high' is not a number",
    )
    add(
        "sweep-freeze-experiment-broken",
        [*sf, "--out", "{d}/cwd/s", "--experiment", "{d}/broken.yaml"],
        r"broken.yaml:3:1: not valid YAML",
    )
    add(
        "measure-alignment-exclude-missing",
        [*ma, "--out", "{d}/cwd/m", "--exclude", "{d}/none.jsonl"],
        r"none.jsonl: file not found",
    )
    add(
        "realign-steps-text",
        [*realign, "--steps", "lots"],
        r"--steps 'lots': Input should be a valid integer.*, or Input should be 'match'",
    )
    add(
        "realign-batch-size-zero",
        [*realign, "--batch-size", "0"],
        r"--batch-size '0': Input should be greater than or equal to 1",
    )
    add("realign-pairs-folder", ["realign", "--pairs", "{d}/emptydir", *M], r"emptydir: not a regular file")
    add(
        "translation-check-dataset-bogus",
        [*tc, "--dataset", "nothing"],
        r"no parallel data for language 'en-fr', split 'dev', dataset 'nothing'",
    )
    add(
        "translation-check-split-bogus",
        [*tc, "--split", "nothing"],
        r"no parallel data for language 'en-fr', split 'nothing'",
    )
    add(
        "grid-set-unknown",
        [*grid, "--dry-run", "--set", "trainig.epochs=1"],
        r"--set 'trainig.epochs=1': trainig: Extra inputs are not permitted",
    )
    add(
        "grid-set-bad-value",
        [*grid, "--dry-run", "--set", "training.epochs=[1, many]"],
        r"--set 'training.epochs=\[1, many\]': training.epochs: Input should be a valid number",
    )
    add(
        "run-set-models-over-model",
        [*run, "--set", "models.0=nowhere/x/y"],
        r"--set 'models.0=nowhere/x/y': model: model 'nowhere/x/y' is neither",
    )
    add(
        "align-eval-sentences-beside-gold",
        ["align-eval", "--gold", "{d}/sets/x.gold", "--pred", "{d}/pred-999.txt"],
        r"pred-999.txt:1: link 999-1 points past the source sentence's end",
    )
    add(
        "align-embedding-layer-bogus",
        ["align", "--method", "embedding", *align[3:], *files, "--layer", "-3"],
        r"--layer '-3': Input should be greater than or equal to 0",
    )
    add(
        "align-eflomal-model-bogus",
        ["align", "--method", "eflomal", *align[3:], *files, "--eflomal-model", "9"],
        r"--eflomal-model '9': Input should be less than or equal to 3",
    )
    add("demo-out-unwritable", ["demo", "--out", "{ro}/a/demo"], r"cannot create --out \S+: \S+ is not writable")

    # --- demo -------------------------------------------------------------------------------------
    add("demo-set-bad", ["demo", "--set", "task.x=1"], r"--set 'task.x=1': task is 'pos', not a mapping")
    add("demo-data-dir-file", ["demo", "--data-dir", "{d}/afile"], r"'--data-dir': .*afile is a file, not a folder")
    add(
        "demo-out-parent-is-a-file",
        ["demo", "--out", "{d}/afile/demo"],
        r"cannot create --out \S+: \S+afile is a file, not a folder",
    )
    add("demo-home-is-a-file", ["demo"], r"ALIGNFREEZE_HOME .*afile.* is a file", env={"ALIGNFREEZE_HOME": "{d}/afile"})
    return c


CASES = _cases()


# --- the inputs ------------------------------------------------------------------------------

BROKEN_MODEL = {
    "model_type": "xlm-roberta",
    "num_hidden_layers": 2,
    "hidden_size": 32,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 100,
}
RESULT_HEADER = "run_id,model,task,method,aligner,freeze,seed,language,stage,metric,value"


def _result(run_id="r1", seed="1", language="en", value="0.9", metric="accuracy", stage="finetuned"):
    return f"{run_id},m,pos,baseline,none,none,{seed},{language},{stage},{metric},{value}"


def _results(*rows: str) -> str:
    return "\n".join([RESULT_HEADER, *rows]) + "\n"


def _unwritable(root: Path) -> Path | None:
    """A folder in which nothing can be created (a read-only one; /sys for root), or None."""
    folder = root / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys"), Path("/proc")):
        try:
            Path(tempfile.mkdtemp(dir=candidate)).rmdir()
        except OSError:
            return candidate
    return None


def build_inputs(d: Path) -> Path | None:
    """Write every input the table names under ``d``; return the unwritable folder."""
    from alignfreeze.align.corpus import AlignedCorpus, AlignedPair

    make_data_root(d / "data")
    empty_eval = make_data_root(d / "data-empty-eval")
    (empty_eval / "ud" / "fr_toy-ud-test.conllu").write_text("", encoding="utf-8")
    (d / "cwd").mkdir()
    (d / "emptydir").mkdir()
    write(d / "afile", "not a folder\n")
    # A model whose config reads and whose weights do not: a case that got as far as loading
    # it would fail at once, with a traceback, not train.
    write(d / "broken-model" / "config.json", json.dumps(BROKEN_MODEL))
    experiment = {
        "name": "bad-inputs",
        "model": str(d / "broken-model"),
        "task": "pos",
        "methods": [{"method": "baseline"}, {"method": "before", "freeze": "front"}],
        "aligner": "dictionary",
        "train": {"language": "en", "split": "train", "dataset": "toy"},
        "eval": [{"language": "fr", "split": "test", "dataset": "toy"}],
        "realignment_pairs": [{"pair": "en-fr", "dataset": "un", "split": "dev"}],
    }
    import yaml

    def config(name, **changes):
        write(d / name, yaml.safe_dump({**experiment, **changes}, sort_keys=False))

    config("exp.yaml")
    config("exp-model-file.yaml", model=str(d / "afile"))
    config("exp-model-empty.yaml", model=str(d / "emptydir"))
    config("exp-bad-field.yaml", trainig={"epochs": 1})
    config("grid.yaml", methods=[{"method": "baseline"}, {"method": "before", "freeze": ["front", "back"]}])
    write(d / "broken.yaml", "name: x\nmodels: [e5-small\n")
    write(d / "list.yaml", "- name: x\n")
    write(d / "src.txt", "the cat\nthe dog runs\n")
    write(d / "tgt.txt", "le chat\nle chien court\n")
    write(d / "tgt-short.txt", "le chat\n")
    write(d / "gold.txt", "0-0 1p1\n0-0 1-1 2-2\n")
    write(d / "gold-far.txt", "0-5\n0-0\n")
    write(d / "src-tgt.txt", "the cat ||| le chat\nthe dog runs ||| le chien court\n")
    write(d / "links-bad.txt", "0-0\n1x1\n")
    write(d / "links-far.txt", "1-1 9-1\n1-1\n")
    write(d / "pred-999.txt", "999-1\n0-0\n")
    write(d / "pred-one-line.txt", "0-0\n")
    write(d / "pred-far-1.txt", "1-1\n1-9\n")
    pairs = [AlignedPair(0, ["the", "cat"], ["le", "chat"], [(0, 0), (1, 1)])]
    AlignedCorpus("en", "fr", pairs, "dictionary", {}, 2).save(d / "pairs.jsonl")
    far = [AlignedPair(1, ["the", "dog", "runs"], ["le", "chien", "court"], [(0, 0), (7, 1)])]
    AlignedCorpus("en", "fr", far, "x", {}, 2).save(d / "pairs-far.jsonl")
    columns = "label,model,src_lang,language,layer,mode,direction,scoring,centred,n_pairs,accuracy"
    write(d / "alignment.csv", f"{columns}\npretrained,e5,en,fr,1,strong,fwd,cosine,False,10,0.5\n")
    write(d / "results.csv", _results(_result(), _result(language="fr", value="0.7")))
    write(d / "results-text.csv", _results(_result(), _result(language="fr", value="abc")))
    write(d / "results-nan.csv", _results(_result(), _result(language="fr", value="nan")))
    write(d / "results-inf.csv", _results(_result(value="inf"), _result(language="fr")))
    write(d / "results-blank.csv", _results(_result(), _result(language="fr"), _result(language="es", value="")))
    write(d / "results-seed.csv", _results(_result(seed="x"), _result(language="fr")))
    write(d / "results-extra.csv", _results(_result(), _result(language="fr") + ",0.5"))
    write(d / "results-short.csv", _results(_result().rsplit(",", 1)[0], _result(language="fr")))
    write(d / "results-header.csv", _results())
    reference = "seed,model,task,method,final_eval_fr_accuracy"
    write(d / "reference.csv", f"{reference}\n1,mbert,udpos,baseline,0.5\n")
    write(d / "reference-text.csv", f"{reference}\n1,mbert,udpos,baseline,lots\n")
    write(d / "reference-seed.csv", f"{reference}\nfirst,mbert,udpos,baseline,0.5\n")
    write(d / "alignment-text.csv", f"{columns}\npretrained,e5,en,fr,1,strong,fwd,cosine,False,10,high\n")
    # measured after run r1 of results.csv, on its saved model: report --alignment
    write(d / "measured" / "alignment.csv", (d / "alignment-text.csv").read_text())
    write(d / "measured" / "alignment.json", json.dumps({"model": str(d / "runs" / "r1" / "model")}))
    write(d / "sets" / "x.gold", "0-0\n0-0\n")
    write(d / "sets" / "x.src-tgt", "the cat ||| le chat\nthe dog runs ||| le chien court\n")
    return _unwritable(d)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-inputs")
    unwritable = build_inputs(d)
    yield d, unwritable
    (d / "read-only").chmod(0o755)


# --- running a command ---------------------------------------------------------------------


def invoke(args: list[str]) -> tuple[int, str]:
    """``alignfreeze ARGS`` through :func:`main` in this process: ``(exit status, stdout and
    stderr)``. An exception that escapes ``main`` is what Python would print: a traceback."""
    from alignfreeze.cli.app import main

    out = io.StringIO()
    sigint = signal.getsignal(signal.SIGINT)
    logger = logging.getLogger("alignfreeze")
    handlers = list(logger.handlers)
    argv = sys.argv
    sys.argv = ["alignfreeze", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except BaseException:  # noqa: BLE001 -- what the interpreter would do with it
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = argv
        signal.signal(signal.SIGINT, sigint)
        logger.handlers[:] = handlers
    return code, out.getvalue()


def _fill(text: str, d: Path, unwritable: Path | None) -> str:
    return text.replace("{d}", str(d)).replace("{ro}", str(unwritable))


@pytest.fixture()
def isolated(inputs, monkeypatch):
    d, _ = inputs
    monkeypatch.chdir(d / "cwd")
    monkeypatch.setenv("ALIGNFREEZE_HOME", str(d / "home"))
    monkeypatch.setenv("ALIGNFREEZE_DATA", str(d / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COLUMNS", "100")
    return monkeypatch


def _params() -> list:
    return [pytest.param(case, id=case.id) for case in CASES]


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_one_line_and_exit_2(case: Case, inputs, isolated):
    d, unwritable = inputs
    if "{ro}" in " ".join(case.args) and unwritable is None:
        pytest.skip("no folder here refuses to be written to")
    for name, value in case.env.items():
        isolated.setenv(name, _fill(value, d, unwritable))
    code, output = invoke([_fill(a, d, unwritable) for a in case.args])
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    assert code == 2, output
    assert len(lines) <= 2, output
    assert re.search(_fill(case.expect, d, unwritable), output), output


def test_the_table_covers_every_command():
    """At least 2 cases for each command ``alignfreeze --help`` lists, and well over 60 in all."""
    from typer.main import get_command

    from alignfreeze.cli.app import app

    commands = set(get_command(app).commands)
    assert len(commands) >= 17
    counts = {name: sum(case.args[0] == name for case in CASES) for name in commands}
    assert all(n >= 2 for n in counts.values()), counts
    assert len(CASES) > 100
    assert len({case.id for case in CASES}) == len(CASES)


# --- a few as real processes ---------------------------------------------------------------

#: Cases run again as ``python -m alignfreeze.cli`` (each start costs seconds of imports): a
#: ``--set``, a results file, and a usage error of click's own (an option without its value).
IN_PROCESSES = ["run-set-through-a-string", "report-nan"]


def test_a_few_cases_as_real_processes(inputs, tmp_path):
    """The same lines from a real interpreter: the exit status is the process's, and what it
    printed is all it printed (stdout and stderr), started together to keep this quick."""
    d, unwritable = inputs
    env = {**os.environ, "ALIGNFREEZE_HOME": str(tmp_path / "home"), "ALIGNFREEZE_DATA": str(d / "data")}
    cases = [next(c for c in CASES if c.id == case_id) for case_id in IN_PROCESSES]
    cases.append(
        Case(
            "report-format-without-value", ["report", "{d}/results.csv", "--format"], r"'--format' requires an argument"
        )
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "alignfreeze.cli", *[_fill(a, d, unwritable) for a in case.args]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=d / "cwd",
            env=env,
        )
        for case in cases
    ]
    for case, process in zip(cases, processes):
        output, _ = process.communicate(timeout=300)
        lines = [line for line in output.splitlines() if line.strip()]
        assert process.returncode == 2, (case.id, output)
        assert "Traceback" not in output and "╭" not in output, (case.id, output)
        assert len(lines) == 1 and lines[0].startswith("error: "), (case.id, output)
        assert re.search(_fill(case.expect, d, unwritable), output), (case.id, output)


def test_no_arguments_still_show_the_help(isolated):
    code, output = invoke([])
    assert "Commands" in output and "translation-check" in output and "error" not in output, output


# --- what the fixes must not break ----------------------------------------------------------


def test_set_models_replaces_the_files_model(inputs):
    """``--set models=...`` on a file that says ``model:`` is not dropped in favour of the file's."""
    from alignfreeze.experiments.config import load_experiment

    d, _ = inputs
    experiment = load_experiment(d / "exp.yaml", ["models=[e5-small, org/other]", "seeds=[3]"])
    assert experiment.models == ["e5-small", "org/other"] and experiment.seeds == [3]


def test_a_value_from_the_file_is_still_blamed_on_the_file(inputs, tmp_path):
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.experiments.config import load_experiment

    d, _ = inputs
    config = write(tmp_path / "x.yaml", (d / "exp.yaml").read_text() + "training: {epochs: many}\n")
    with pytest.raises(AlignfreezeError) as err:
        load_experiment(config, ["seeds=[1]"])
    assert str(err.value).startswith(f"invalid configuration in {config}: training.epochs:"), err.value


def test_check_can_create_creates_nothing(tmp_path):
    from alignfreeze.paths import check_can_create

    target = tmp_path / "a" / "b" / "out"
    assert check_can_create(target, "--out") == target
    assert list(tmp_path.iterdir()) == []


def test_results_with_good_values_still_read(inputs):
    """Valid rows, a blank line and a torn last line (a run still writing) are read as before."""
    from alignfreeze.experiments.results import read_results

    d, _ = inputs
    text = (d / "results.csv").read_text() + "\n" + _result(language="es", value="0.5").rsplit(",", 1)[0]
    path = write(d / "cwd" / "torn.csv", text)
    rows = read_results([path])
    assert [(r["language"], r["value"], r["seed"]) for r in rows] == [("en", "0.9", "1"), ("fr", "0.7", "1")]
