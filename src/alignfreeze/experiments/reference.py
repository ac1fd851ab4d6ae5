"""``alignfreeze import-reference``: the AlignFreeze paper's released result CSVs, converted
to our long format so that published numbers and new runs share one report.

The authors released one CSV per model and task (``scripts/2025_naacl/results/`` in
posos-tech/multilingual-alignment-and-transfer, 12 files, 435 runs): one row per run with
``seed, model, task, method``, four bookkeeping columns of realignment and fine-tuning
counts, three loss columns, and metric columns ``eval_<lang>_<metric>`` and
``final_eval_<lang>_<metric>``.

* **Metrics:** ``accuracy``, ``f1``, ``precision``, ``recall`` and ``em`` (our
  ``exact_match``). ``final_eval_`` (the final model) is preferred and ``eval_`` is the
  fallback, per language and metric; in the released files the two are identical wherever
  both exist, and :func:`convert` counts the cells where they differ.
* **Languages:** ``<lang>`` is an ISO code; ``same`` (the training language, English)
  becomes ``en`` unless the row also has ``en``; ``avg`` (the run's own unweighted average
  over its evaluation languages) is kept as language ``avg``, which the report never counts
  as a target language but shows as the released average.
* **Tasks:** ``udpos`` -> ``pos``, ``wikiann``/``panx`` -> ``ner``, ``xnli`` -> ``nli``,
  ``xquad`` -> ``qa``. **Methods:** :data:`METHOD_FORMS` (and :func:`reference_method`
  maps back).
* The bookkeeping and loss columns (:data:`BOOKKEEPING`) are not results and are not
  imported. Any other column, any unknown method, task or metric, and any value that is
  not a fraction stops the import with ``file:line:column``.

**The emnlp-2026 successor's CSVs** (felixgaschi/emnlp-2026-code-submission,
``scripts/ours/results/<model>/<folder>/<model>__mix_opus100_nllb__<strategy>__<task>__<steps>__<batch>.csv``;
the name pattern is final_run_script.sh line 131) are read too, in both their forms: compact
(``seed, model, task, method, n_realignment_langs, realignment_langs`` and ``final_eval_*``)
and wide raw (the same bookkeeping as above, plus ``meta_weight`` and ``meta_loss_total``
for decoupled weights). A file is read as theirs when its header has ``n_realignment_langs``.

* **Strategies** (:data:`EMNLP_STRATEGIES`): ``baseline`` is our baseline; ``before_noaligner``
  our ``before`` with objective ``contrastive_sentence`` and aligner ``none``.
* **Selection and weighting** come from the folder (:func:`parse_emnlp_folder`:
  ``ft_only``, ``most_uriel_en_40``, ``xt_afri``; ``__weighted__ucb__excoef0.1``,
  ``__weighted__innerb10__metalr1e-3``, ``__weighted__decouple__...``; ``__adapt__same``),
  the steps and batch from the file name; with the seed they name the run
  (:func:`emnlp_run_id`), as the results columns have no place for them.
  :func:`emnlp_names` gives, for one of our runs, their strategy and folder names.
* **Languages:** their three-letter codes (AfriXNLI's ``amh``, ``orm``; MasakhaNER's
  ``hau``) become ours where :func:`~alignfreeze.data.languages.from_nllb_code` maps them,
  except where another test set of the task has that code (:data:`EMNLP_KEPT_CODES`:
  AfriXNLI's ``fra`` and ``swa`` stay beside XNLI's ``fr`` and ``sw``); ``same``, the English
  test set, is ``en`` (AfriXNLI's ``eng`` stays ``eng``).
* **Tasks:** ``xtreme_r.udpos`` -> ``pos``, ``wikiann`` -> ``ner``, ``xnli`` -> ``nli``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Sequence

from alignfreeze.errors import DataFormatError

REFERENCE_TASKS = {
    "udpos": "pos",
    "pos": "pos",
    "wikiann": "ner",
    "panx": "ner",
    "pan-x": "ner",
    "ner": "ner",
    "xnli": "nli",
    "nli": "nli",
    "xquad": "qa",
    "qa": "qa",
    "xtreme_r.udpos": "pos",
    "xtreme.udpos": "pos",
}
#: Reference aligner names -> the aligner column of our results. FastAlign and AWESOME-align
#: keep their names: our eflomal and embedding aligners stand in for them but are not them.
ALIGNERS = {"dico": "dictionary", "fastalign": "fastalign", "awesome": "awesome"}
METRICS = {"accuracy": "accuracy", "f1": "f1", "precision": "precision", "recall": "recall", "em": "exact_match"}
COLUMN = re.compile(r"^(?P<prefix>final_eval|eval)_(?P<lang>[a-z]{2,3}|same|avg)_(?P<metric>[a-z0-9_]+)$")
#: Columns of the released files that are not results (counts and losses of the run).
BOOKKEEPING = (
    "finetuning_steps",
    "realignment_steps",
    "distinct_realignment_samples",
    "repeated_realignment_samples",
    "train_loss",
    "realignment_loss",
    "task_loss",
)
#: Columns of the emnlp-2026 files that are not results: the realignment languages, and the
#: decoupled meta-weights' logs (final_run_script.sh; wandb_utils.py lines 87-126).
EMNLP_BOOKKEEPING = ("n_realignment_langs", "realignment_langs", "meta_weight", "meta_loss_total")
IDENTITY = ("seed", "model", "task", "method")
#: Released counts kept as run-level rows (stage ``run``): the sentence pairs realignment drew
#: in all, and before its stream first restarted (``multilingual_eval/training/states.py``
#: lines 60-66), alignfreeze's ``realignment_pairs_drawn`` and ``realignment_pairs_distinct``.
RUN_COUNTS = {
    "repeated_realignment_samples": "realignment_pairs_drawn",
    "distinct_realignment_samples": "realignment_pairs_distinct",
}

#: Every method name of the released files, as ``<form>_<aligner>``: form -> (method, freeze).
#: ``freeze_realign_unfreeze*`` realign before fine-tuning with half the layers frozen
#: (``multilingual_eval/training/training_loops.py`` lines 357-438: the lower half, or the
#: upper half -- ``last_half``, and ``last_6`` in the XLM-R PoS file, XLM-R's upper 6 of 12);
#: ``during_partial_freeze_{front,back}`` realign during fine-tuning with the realignment
#: gradient kept out of the lower/upper half (lines 720-762).
METHOD_FORMS: dict[str, tuple[str, str]] = {
    "before": ("before", "none"),
    "during": ("during", "none"),
    "freeze_realign_unfreeze": ("before", "front"),
    "freeze_realign_unfreeze_last_half": ("before", "back"),
    "freeze_realign_unfreeze_last_6": ("before", "back"),
    "during_partial_freeze_front": ("during", "front"),
    "during_partial_freeze_back": ("during", "back"),
}


#: The emnlp-2026 strategies (the ``method`` column): name -> (method, freeze, aligner, objective).
#: ``before_noaligner`` realigns before fine-tuning, aligner-free, on mean-pooled sentence
#: vectors (realignment_method="sentence": controlled_realignment.py lines 152-161).
EMNLP_STRATEGIES: dict[str, tuple[str, str, str, str | None]] = {
    "baseline": ("baseline", "none", "none", None),
    "before_noaligner": ("before", "none", "none", "contrastive_sentence"),
}


def map_method(name: str) -> tuple[str, str, str]:
    """Reference method name -> ``(method, freeze, aligner)`` (see :data:`METHOD_FORMS` and
    :data:`EMNLP_STRATEGIES`)."""
    if name in EMNLP_STRATEGIES:
        return EMNLP_STRATEGIES[name][:3]
    form, _, aligner = name.rpartition("_")
    if form not in METHOD_FORMS or aligner not in ALIGNERS:
        known = ", ".join(f"{f}_<aligner>" for f in METHOD_FORMS)
        raise ValueError(
            f"unknown reference method {name!r} (known: baseline, {known}; aligners: {', '.join(ALIGNERS)})"
        )
    method, freeze = METHOD_FORMS[form]
    return method, freeze, ALIGNERS[aligner]


def reference_method(method: str, freeze: str, aligner: str) -> str | None:
    """Our ``(method, freeze, aligner)`` -> the reference's method name, or None when the
    reference has no such strategy (our eflomal and embedding aligners included)."""
    if method == "baseline":
        return "baseline"
    if (method, freeze, aligner) == EMNLP_STRATEGIES["before_noaligner"][:3]:
        return "before_noaligner"
    names = {v: k for k, v in ALIGNERS.items()}
    forms = {value: form for form, value in METHOD_FORMS.items() if form != "freeze_realign_unfreeze_last_6"}
    if aligner not in names or (method, freeze) not in forms:
        return None
    return f"{forms[(method, freeze)]}_{names[aligner]}"


# ------------------------------------------------------------------ emnlp-2026 names
#: Their selections (final_run_script.sh lines 23-37): ``ft_only`` is the baseline's folder.
EMNLP_SELECTIONS = ("ft_only", "most_uriel_en_40", "xt_afri")
#: A result file's name (final_run_script.sh line 131).
EMNLP_FILE = re.compile(
    r"^(?P<model>.+?)__(?P<dataset>[a-z0-9_]+)__(?P<strategy>[a-z_]+)__(?P<task>[a-z_.]+)"
    r"__(?P<steps>\d+)__(?P<batch>\d+)\.csv$"
)


def _selection_languages() -> dict[str, frozenset[str]]:
    """Our codes of ``xt_afri`` (65) and ``most_uriel_en_40`` (final_run_script.sh lines 23-28)."""
    from alignfreeze.data.languages import from_nllb_code

    opus = "af ar az bg bn de el es et eu fa fi fr gu he hi hu id it ja ka ko lt ml ms nl pa pl pt ro ru ta th tr uk ur vi zh"
    nllb = (
        "amh_Ethi bam_Latn ewe_Latn fon_Latn hau_Latn ibo_Latn kin_Latn lin_Latn lug_Latn luo_Latn mos_Latn nya_Latn "
        "gaz_Latn sna_Latn swh_Latn tsn_Latn twi_Latn wol_Latn xho_Latn yor_Latn zul_Latn mya_Mymr jav_Latn tgl_Latn "
        "tel_Telu mar_Deva kaz_Cyrl"
    )
    uriel = (
        "af ar az eu mya_Mymr zh ewe_Latn fon_Latn fr lug_Latn ka el hau_Latn he ibo_Latn ja kaz_Cyrl kin_Latn ko "
        "lin_Latn ms ml mar_Deva nya_Latn gaz_Latn fa ru sna_Latn es tgl_Latn ta tel_Telu th tr twi_Latn ur vi "
        "xho_Latn yor_Latn zul_Latn"
    )
    return {
        "xt_afri": frozenset(from_nllb_code(c) for c in f"{opus} {nllb}".split()),
        "most_uriel_en_40": frozenset(from_nllb_code(c) for c in uriel.split()),
    }


def parse_emnlp_folder(name: str) -> dict:
    """A results folder's name -> ``{selection, weighting, adapter}``: the selection
    (:data:`EMNLP_SELECTIONS`) and the compressed arguments final_run_script.sh lines 69-92
    append. ``weighting`` is None (uniform) or ``{"kind": "ucb", "exploration_coef": 0.1}`` /
    ``{"kind": "meta", "inner_batches": 10, "meta_lr": 0.001, "decoupled": False}``;
    ``adapter`` the adapter approach (``same``) or None. A ValueError names what is unknown.

    Example::

        parse_emnlp_folder("xt_afri__weighted__ucb__excoef0.1")["weighting"]   # {'kind': 'ucb', ...}
    """
    selection, *tokens = name.split("__")
    if selection not in EMNLP_SELECTIONS:
        raise ValueError(f"folder {name!r}: unknown selection {selection!r} (known: {', '.join(EMNLP_SELECTIONS)})")
    weighting: dict | None = None
    adapter = None
    k = 0
    while k < len(tokens):
        token = tokens[k]
        if token == "weighted":
            weighting = {"kind": "meta"}  # their weighted sampling's default method (epoch_loop.py lines 590-893)
        elif token == "ucb" and weighting is not None:
            weighting = {"kind": "ucb"}
        elif token == "decouple" and weighting is not None:
            weighting["decoupled"] = True
        elif token.startswith("excoef") and weighting is not None:
            weighting["exploration_coef"] = float(token[len("excoef") :])
        elif token.startswith("innerb") and weighting is not None:
            weighting["inner_batches"] = int(token[len("innerb") :])
        elif token.startswith("metalr") and weighting is not None:
            weighting["meta_lr"] = float(token[len("metalr") :])
        elif token == "adapt" and k + 1 < len(tokens):
            adapter, k = tokens[k + 1], k + 1
        else:
            raise ValueError(f"folder {name!r}: unknown part {token!r}")
        k += 1
    if weighting is not None and weighting["kind"] == "meta":
        weighting.setdefault("decoupled", False)
    return {"selection": selection, "weighting": weighting, "adapter": adapter}


def emnlp_names(
    method: str,
    aligner: str | None = None,
    objective: str | None = None,
    languages: Sequence[str] = (),
    weighting: dict | None = None,
) -> dict[str, str | None]:
    """Our run -> the emnlp-2026 names it would have: ``{"strategy", "selection", "folder"}``,
    each None where their code has no such setting. ``languages``: the run's realignment
    languages (our codes, English left out or not); ``weighting`` as
    :func:`parse_emnlp_folder` gives it (None: uniform).

    Example::

        emnlp_names("before", "none", "contrastive_sentence", langs, {"kind": "ucb", "exploration_coef": 0.1})
        # {'strategy': 'before_noaligner', 'selection': 'xt_afri', 'folder': 'xt_afri__weighted__ucb__excoef0.1'}
    """
    if method == "baseline":
        return {"strategy": "baseline", "selection": "ft_only", "folder": "ft_only"}
    strategy = (
        "before_noaligner"
        if (method, aligner or "none", objective) == ("before", "none", "contrastive_sentence")
        else None
    )
    wanted = frozenset(languages) - {"en"}
    selection = next((name for name, langs in _selection_languages().items() if langs == wanted), None)
    suffix: str | None = ""
    if weighting:
        if weighting.get("kind") == "ucb" and set(weighting) <= {"kind", "exploration_coef"}:
            suffix = "__weighted__ucb" + (
                f"__excoef{weighting['exploration_coef']:g}" if "exploration_coef" in weighting else ""
            )
        elif weighting.get("kind") == "meta" and set(weighting) <= {"kind", "inner_batches", "meta_lr", "decoupled"}:
            suffix = "__weighted" + ("__decouple" if weighting.get("decoupled") else "")
            suffix += f"__innerb{weighting['inner_batches']}" if "inner_batches" in weighting else ""
            suffix += f"__metalr{weighting['meta_lr']:.0e}".replace("e-0", "e-") if "meta_lr" in weighting else ""
        else:
            suffix = None
    folder = f"{selection}{suffix}" if selection and suffix is not None else None
    return {"strategy": strategy, "selection": selection, "folder": folder}


def emnlp_names_of_run(run) -> dict[str, str | None]:
    """:func:`emnlp_names` of one :class:`~alignfreeze.experiments.config.RunConfig`: its
    method, aligner, objective, realignment languages and language weighting (``ucb`` with
    its exploration coefficient; ``meta``/``meta_closed``, the decoupled weights, with their
    update interval and learning rate).

    Example::

        emnlp_names_of_run(load_experiment("configs/successor/xnli-noaligner.yaml").runs()[-1])
        # {'strategy': 'before_noaligner', 'selection': 'most_uriel_en_40', 'folder': 'most_uriel_en_40'}
    """
    realignment = run.realignment
    weighting = None
    if realignment.language_weighting == "ucb":
        weighting = {"kind": "ucb", "exploration_coef": realignment.weighting_exploration}
    elif realignment.language_weighting in ("meta", "meta_closed"):
        weighting = {
            "kind": "meta",
            "decoupled": True,
            "inner_batches": realignment.weighting_every or 10,
            "meta_lr": realignment.weighting_learning_rate,
        }
    languages = [ref.pair.split("-")[1] for ref in run.realignment_pairs]
    return emnlp_names(str(run.method), run.aligner_name, realignment.objective, languages, weighting)


def emnlp_run_id(folder: str, model: str, task: str, steps: int, batch: int, seed: int) -> str:
    """One emnlp-2026 run's id in our results: readable (folder, task, steps, seed), as the
    results columns have no place for the selection, weighting and budget."""
    digest = hashlib.sha256(f"{folder}:{model}:{task}:{steps}:{batch}:{seed}".encode()).hexdigest()[:6]
    return f"emnlp-{folder}-{task}-{steps}x{batch}-s{seed}-{digest}"


#: Three-letter codes of a task's test sets kept as they are: another test set of the same
#: task has the two-letter code (final_run_script.sh lines 42-54: XNLI's fr and sw beside
#: AfriXNLI's fra and swa, and its eng beside the English test set ``same``; XTREME-R's sw,
#: yo and wo beside MasakhaNER's and MasakhaPOS's swa, yor and wol). Fixed per task, so
#: that a code means the same test set in the compact files, which lack XNLI's sw, as in the
#: raw ones.
EMNLP_KEPT_CODES = {"nli": frozenset({"eng", "fra", "swa"}), "ner": frozenset({"swa", "yor"})}
EMNLP_KEPT_CODES["pos"] = frozenset({"wol", "yor"})


def emnlp_language_map(languages: Sequence[str], task: str | None = None) -> dict[str, str]:
    """A file's language codes -> ours: ``same`` -> ``en``, and a three-letter code to its
    two-letter one unless the task has another test set of that code
    (:data:`EMNLP_KEPT_CODES`) or the file a column of it (see the module docstring)."""
    from alignfreeze.data.languages import from_nllb_code

    claimed = {lang for lang in languages if len(lang) == 2} | {"en"}
    kept = EMNLP_KEPT_CODES.get(task or "", frozenset())
    mapping = {} if "en" in languages else {"same": "en"}
    for lang in languages:
        if lang in mapping or len(lang) == 2 or lang == "avg" or lang in kept:
            continue
        ours = from_nllb_code(lang)
        if ours != lang and ours not in claimed and ours not in mapping.values():
            mapping[lang] = ours
    return mapping


class ImportSummary:
    """What :func:`convert` read: runs, rows, and the ``eval_``/``final_eval_`` cells."""

    def __init__(self) -> None:
        self.runs = 0
        self.rows = 0
        self.duplicated_cells = 0  # eval_ cells that also have a final_eval_ value
        self.differing_cells = 0  # ... whose values differ (final_eval_ is kept)
        self.repeated_runs = 0  # emnlp-2026 rows that repeat a run (folder, steps, seed): the first is kept


def convert(path: str | Path, summary: ImportSummary | None = None) -> list[dict]:
    """Long-format rows (``alignfreeze.experiments.results.COLUMNS``) of one reference CSV."""
    from alignfreeze.data.textfile import read_text

    summary = summary if summary is not None else ImportSummary()
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise DataFormatError(path, None, "empty file")
    missing = [c for c in IDENTITY if c not in header]
    if missing:
        raise DataFormatError(
            path,
            1,
            f"missing column(s) {', '.join(missing)} (a reference results CSV has "
            "seed, model, task, method and eval_/final_eval_ columns)",
        )
    emnlp = _emnlp_file(path) if "n_realignment_langs" in header else None
    skipped = IDENTITY + BOOKKEEPING + (EMNLP_BOOKKEEPING if emnlp else ())
    metric_columns: dict[int, tuple[str, str, str]] = {}
    for index, name in enumerate(header):
        if name in skipped:
            continue
        found = COLUMN.match(name)
        if not found:
            raise DataFormatError(
                path,
                1,
                f"unknown column {name!r} (known: {', '.join(skipped)}, "
                "eval_<lang>_<metric>, final_eval_<lang>_<metric>)",
                index + 1,
            )
        if found.group("metric") not in METRICS:
            raise DataFormatError(
                path,
                1,
                f"column {name!r}: unknown metric {found.group('metric')!r} (known: {', '.join(METRICS)})",
                index + 1,
            )
        metric_columns[index] = (found.group("prefix"), found.group("lang"), METRICS[found.group("metric")])
    if not metric_columns:
        raise DataFormatError(path, 1, "no eval_<lang>_<metric> or final_eval_<lang>_<metric> column")
    if emnlp:  # their three-letter codes -> ours (the task is the file name's)
        task_of_file = REFERENCE_TASKS.get(emnlp["task"])
        languages = emnlp_language_map(sorted({lang for _, lang, _ in metric_columns.values()}), task_of_file)
        metric_columns = {i: (p, languages.get(lang, lang), m) for i, (p, lang, m) in metric_columns.items()}
    position = {name: header.index(name) for name in IDENTITY}
    rows = []
    for line, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise DataFormatError(path, line, f"{len(record)} fields where the header has {len(header)}")

        def field(name: str, record: list[str] = record) -> str:
            return record[position[name]].strip()

        task_name = field("task").lower()
        if task_name not in REFERENCE_TASKS:
            raise DataFormatError(
                path,
                line,
                f"unknown task {field('task')!r} (known: {', '.join(sorted(REFERENCE_TASKS))})",
                position["task"] + 1,
            )
        task = REFERENCE_TASKS[task_name]
        try:
            method, freeze, aligner = map_method(field("method"))
        except ValueError as exc:
            raise DataFormatError(path, line, str(exc), position["method"] + 1) from None
        try:
            seed = int(float(field("seed")))
        except ValueError:
            raise DataFormatError(path, line, f"seed {field('seed')!r} is not a number", position["seed"] + 1) from None
        values: dict[tuple[str, str], tuple[str, float]] = {}  # (lang, metric) -> (prefix, value)
        for index, (prefix, lang, metric) in metric_columns.items():
            raw = record[index].strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise DataFormatError(
                    path, line, f"column {header[index]}: {raw!r} is not a number", index + 1
                ) from None
            if not 0.0 <= value <= 1.0:
                raise DataFormatError(
                    path, line, f"column {header[index]}: {value} is not a fraction in 0..1", index + 1
                )
            key = (lang, metric)
            if key in values:
                summary.duplicated_cells += 1
                summary.differing_cells += values[key][1] != value
                if prefix == "final_eval":
                    values[key] = (prefix, value)
            else:
                values[key] = (prefix, value)
        model = field("model")
        if emnlp:
            if field("method") not in EMNLP_STRATEGIES or field("method") != emnlp["strategy"]:
                raise DataFormatError(
                    path,
                    line,
                    f"method {field('method')!r}: the file name says {emnlp['strategy']!r} "
                    f"(emnlp-2026 strategies: {', '.join(EMNLP_STRATEGIES)})",
                    position["method"] + 1,
                )
            run_id = emnlp_run_id(emnlp["folder"], model, task, emnlp["steps"], emnlp["batch"], seed)
            if run_id in emnlp["seen"]:  # their files repeat a seed's row now and then
                summary.repeated_runs += 1
                continue
            emnlp["seen"].add(run_id)
        else:
            run_id = (
                "ref-"
                + hashlib.sha256(
                    f"{Path(path).name}:{line}:{model}:{task}:{field('method')}:{seed}".encode()
                ).hexdigest()[:10]
            )
        summary.runs += 1

        # The identity every row of this run carries.
        base = {
            "run_id": run_id,
            "model": model,
            "task": task,
            "method": method,
            "aligner": aligner,
            "freeze": freeze,
            "seed": seed,
        }
        for (lang, metric), (_, value) in sorted(values.items()):
            if lang == "same":
                if ("en", metric) in values:
                    continue
                lang = "en"
            rows.append({**base, "language": lang, "stage": "finetuned", "metric": metric, "value": value})
        if method != "baseline":  # what realignment drew (stage "run"), to compare with ours
            for column, metric in RUN_COUNTS.items():
                if column not in header or not record[header.index(column)].strip():
                    continue
                raw = record[header.index(column)].strip()
                try:
                    count = float(raw)
                except ValueError:
                    raise DataFormatError(
                        path, line, f"column {column}: {raw!r} is not a number", header.index(column) + 1
                    ) from None
                rows.append({**base, "language": "all", "stage": "run", "metric": metric, "value": count})
    if not rows:
        raise DataFormatError(path, None, "no result values in the file")
    summary.rows += len(rows)
    return rows


def _emnlp_file(path: str | Path) -> dict:
    """What an emnlp-2026 result file's name and folder say (see the module docstring)."""
    path = Path(path)
    found = EMNLP_FILE.match(path.name)
    if not found:
        raise DataFormatError(
            path,
            None,
            "an emnlp-2026 results file (its header has n_realignment_langs) is named "
            "<model>__mix_opus100_nllb__<strategy>__<task>__<steps>__<batch>.csv, in its selection's folder",
        )
    try:
        folder = parse_emnlp_folder(path.parent.name)
    except ValueError as exc:
        raise DataFormatError(path, None, str(exc)) from None
    return {
        **folder,
        "folder": path.parent.name,
        "strategy": found.group("strategy"),
        "task": found.group("task"),
        "steps": int(found.group("steps")),
        "batch": int(found.group("batch")),
        "seen": set(),
    }


def import_reference(paths: Sequence[str | Path], out: str | Path) -> tuple[list[dict], ImportSummary]:
    """Convert the result CSVs released with the AlignFreeze paper (one wide row per run) into
    alignfreeze's long-format results, written atomically to ``out``; method names, metrics
    and the released averages (language ``avg``) are mapped to ours.

    Returns:
        ``(rows, summary)``: the rows, and counts (runs, rows, duplicated and differing cells).

    Example::

        rows, summary = af.import_reference(sorted(Path("results").glob("*.csv")), "paper-results.csv")
    """
    from alignfreeze.experiments.results import rows_to_csv
    from alignfreeze.fileio import atomic_write_text

    summary = ImportSummary()
    rows = [row for path in paths for row in convert(path, summary)]
    atomic_write_text(out, rows_to_csv(rows, header=True))
    return rows, summary
