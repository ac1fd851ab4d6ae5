"""Typed run descriptions.

A YAML *experiment* file (:class:`ExperimentConfig`) lists models, methods and seeds;
:meth:`ExperimentConfig.runs` expands it into :class:`RunConfig` objects, each of which
fully describes one run (one model, task, method, freeze spec, aligner and seed). A run's id
is a hash of its resolved config, so the same run always gets the same id, and resuming
skips what is done. Paths to data are not part of a run (``--data-dir`` can move).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alignfreeze.align import METHODS as ALIGNERS
from alignfreeze.data.languages import LANGUAGE_NAMES
from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import TrainingSettings, resolve_training
from alignfreeze.realign.freeze import FreezeSpec

TASK_NAMES = ("pos", "ner", "nli", "qa")
METHOD_NAMES = ("baseline", "before", "during", "before+during")
LANGUAGES = tuple(sorted(LANGUAGE_NAMES))


def _check_language(code: str) -> str:
    if code not in LANGUAGE_NAMES:
        raise ValueError(f"unknown language {code!r} (allowed: {', '.join(LANGUAGES)})")
    return code


class DataRef(BaseModel):
    """A task's data for one language, resolved through the DataCatalog."""

    model_config = ConfigDict(extra="forbid")
    language: str
    split: str = "test"
    dataset: str | None = None
    limit: int | None = Field(None, ge=1, description="use the first N records only")
    premise_split: Literal["train", "test"] | None = Field(
        None,
        description="nli: keep one side of a split by premise. Items sharing a premise (consecutive items of the "
        "premise_reference language's file) go to the same side, so that no evaluated item is a translation of a "
        "training item; files of all languages must be parallel.",
    )
    premise_train_fraction: float = Field(0.7, gt=0, lt=1)
    premise_reference: str = "en"

    _lang = field_validator("language")(classmethod(lambda cls, v: _check_language(v)))


class ParallelRef(BaseModel):
    """Parallel text for realignment: a language pair in the catalog."""

    model_config = ConfigDict(extra="forbid")
    pair: str = Field(description="source-target, e.g. en-fr")
    split: str = "dev"
    dataset: str | None = None
    limit: int | None = Field(None, ge=1)

    @field_validator("pair")
    @classmethod
    def _pair(cls, v: str) -> str:
        parts = v.split("-")
        if len(parts) != 2:
            raise ValueError(f"language pair {v!r} must look like en-fr")
        for p in parts:
            _check_language(p)
        return v


class RealignmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pairs: list[ParallelRef] = Field(default_factory=list)
    steps: int = Field(200, ge=1)
    batch_size: int = Field(16, ge=1)
    max_length: int = Field(96, ge=8)
    learning_rate: float = Field(2e-5, gt=0)
    temperature: float = Field(0.1, gt=0)
    mode: Literal["strong", "weak"] = "strong"
    projection: Literal["mlp", "linear", "none"] = "mlp"
    layer: Literal["top", "penultimate"] = "top"
    word_vector: Literal["first", "mean"] = "first"
    embedding_aligner_layer: int = Field(8, ge=0, description="embedding aligner: hidden state used")
    eflomal_one_to_one: bool = False


class AnalysisSettings(BaseModel):
    """Alignment measured during a run (:mod:`alignfreeze.analysis.retrieval`): before
    anything, after realignment and after fine-tuning, as ``alignment_*`` result rows."""

    model_config = ConfigDict(extra="forbid")
    alignment: bool = False
    pairs: list[ParallelRef] = Field(
        default_factory=list,
        description="word-pair sources, dictionary-aligned with MUSE; default: <training language>-<eval language> "
        "for every other eval language, split 'test', the first parallel dataset found",
    )
    exclude_pairs: list[ParallelRef] = Field(
        default_factory=list,
        description="parallel data whose sentences the sample must not use (filled from the experiment's realignment "
        "pairs, so that every run of an experiment, baselines included, is measured on the same held-out words)",
    )
    n_pairs: int = Field(1000, ge=2)
    layers: str = "all"
    modes: list[Literal["weak", "strong"]] = Field(default_factory=lambda: ["weak", "strong"], min_length=1)
    csls_k: int = Field(0, ge=0)
    center: bool = False
    sample_seed: int = 0
    batch_size: int = Field(16, ge=1, description="sentences per forward pass (16 measured fastest on a 2-core CPU)")


def _check_model(name: str) -> str:
    if name == "e5-small" or Path(name).expanduser().exists():
        return name
    if name.startswith((".", "/", "~")) or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise ValueError(f"model {name!r} is neither 'e5-small', an existing folder, nor a hub id (org/name)")
    return name


class RunConfig(BaseModel):
    """One run: everything that determines its results."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model: str
    task: Literal["pos", "ner", "nli", "qa"]
    method: Literal["baseline", "before", "during", "before+during"]
    freeze: str = "none"
    freeze_during_finetuning: bool = False
    aligner: Literal["dictionary", "eflomal", "embedding", "pharaoh", "none"] = "none"
    seed: int = 0
    train: list[DataRef] = Field(min_length=1, description="training data, concatenated")
    eval: list[DataRef]
    realignment: RealignmentSettings = Field(default_factory=RealignmentSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    _model = field_validator("model")(classmethod(lambda cls, v: _check_model(v)))
    _train = field_validator("train", mode="before")(classmethod(lambda cls, v: [v] if isinstance(v, (dict, DataRef)) else v))

    @field_validator("freeze")
    @classmethod
    def _freeze(cls, v: str) -> str:
        try:
            FreezeSpec.parse(v)
        except AlignfreezeError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        uses_realignment = self.method != "baseline"
        if uses_realignment and self.aligner == "none":
            raise ValueError(f"method {self.method!r} needs an aligner (allowed: {', '.join(ALIGNERS)})")
        if uses_realignment and not self.realignment.pairs:
            raise ValueError(f"method {self.method!r} needs realignment.pairs")
        if self.aligner == "pharaoh":
            raise ValueError("the pharaoh aligner needs a links file per pair; align with `alignfreeze align` instead")
        if not self.eval:
            raise ValueError("eval lists no language")
        return self

    def resolved(self) -> "RunConfig":
        """Defaults that depend on the model or task filled in, and the fields that cannot
        matter for this method normalised (a baseline has no aligner, freeze or realignment)."""
        values = self.model_dump()
        values["training"] = resolve_training(self.training, self.model, self.task).model_dump()
        if self.method == "baseline":
            values.update(aligner="none", freeze="none", freeze_during_finetuning=False)
            values["realignment"] = RealignmentSettings().model_dump()
        return RunConfig(**values)

    @property
    def run_id(self) -> str:
        values = self.resolved().model_dump(mode="json")
        if not self.analysis.alignment:
            # Analysis settings cannot change a run that does not measure alignment; keeping
            # them out of the hash keeps the ids of such runs stable as the settings grow.
            values["analysis"] = {"alignment": False}
        payload = json.dumps(values, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Method as shown in tables: ``before/front/dictionary``."""
        if self.method == "baseline":
            return "baseline"
        return f"{self.method}/{self.freeze}/{self.aligner}"


class MethodSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["baseline", "before", "during", "before+during"]
    freeze: str = "none"
    aligner: Literal["dictionary", "eflomal", "embedding", "pharaoh", "none"] | None = None
    freeze_during_finetuning: bool = False


class ExperimentConfig(BaseModel):
    """A YAML experiment: lists of models, methods and seeds around one task."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    name: str = "experiment"
    models: list[str] = Field(min_length=1)
    task: Literal["pos", "ner", "nli", "qa"]
    methods: list[MethodSpec] = Field(min_length=1)
    aligner: Literal["dictionary", "eflomal", "embedding", "pharaoh", "none"] = "dictionary"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    train: list[DataRef] = Field(min_length=1)
    eval: list[DataRef] = Field(default_factory=list)
    eval_languages: list[str] = Field(default_factory=list, description="shorthand: one eval entry per language")
    eval_split: str = "test"
    eval_dataset: str | None = None
    eval_limit: int | None = None
    realignment: RealignmentSettings = Field(default_factory=RealignmentSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    @model_validator(mode="before")
    @classmethod
    def _single_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and "model" in data:
            data = dict(data)
            model = data.pop("model")
            data["models"] = model if isinstance(model, list) else [model]
        return data

    _langs = field_validator("eval_languages")(classmethod(lambda cls, v: [_check_language(x) for x in v]))
    _train = field_validator("train", mode="before")(classmethod(lambda cls, v: [v] if isinstance(v, (dict, DataRef)) else v))
    eval_premise_split: Literal["train", "test"] | None = None

    def runs(self) -> list[RunConfig]:
        evals = list(self.eval) + [
            DataRef(language=lang, split=self.eval_split, dataset=self.eval_dataset, limit=self.eval_limit,
                    premise_split=self.eval_premise_split)
            for lang in self.eval_languages
        ]
        out = []
        analysis = self.analysis
        if analysis.alignment:
            extra = [ref for ref in self.realignment.pairs if ref not in analysis.exclude_pairs]
            analysis = analysis.model_copy(update={"exclude_pairs": list(analysis.exclude_pairs) + extra})
        for model in self.models:
            for spec in self.methods:
                for seed in self.seeds:
                    aligner = spec.aligner or (self.aligner if spec.method != "baseline" else "none")
                    out.append(RunConfig(
                        model=model, task=self.task, method=spec.method, freeze=spec.freeze, aligner=aligner, seed=seed,
                        freeze_during_finetuning=spec.freeze_during_finetuning, train=self.train, eval=evals,
                        realignment=self.realignment, training=self.training, analysis=analysis,
                    ).resolved())  # fmt: skip
        return out


def apply_override(data: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a nested dict/list in place."""
    if "=" not in assignment:
        raise AlignfreezeError(f"--set {assignment!r}: expected key.path=value")
    path, raw = assignment.split("=", 1)
    keys = path.strip().split(".")
    node: Any = data
    for key in keys[:-1]:
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node = node.setdefault(key, {})
    value = yaml.safe_load(raw)
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value


def validation_message(exc: ValidationError, source: str = "") -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            msg = f"{msg} (got {e['input']!r})"
        parts.append(f"{where}: {msg}")
    return f"invalid configuration{f' in {source}' if source else ''}: " + "; ".join(parts)


def read_config_mapping(path: str | Path, overrides: list[str] | None = None) -> dict:
    """The top-level mapping of a YAML config file, with ``--set a.b=value`` overrides applied."""
    from alignfreeze.data.textfile import read_text

    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise AlignfreezeError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise AlignfreezeError(f"{path}: expected a mapping of settings at the top level")
    for assignment in overrides or []:
        apply_override(data, assignment)
    return data


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    data = read_config_mapping(path, overrides)
    try:
        experiment = ExperimentConfig(**data)
        experiment.runs()  # validates every expanded run (and its resolved settings)
    except ValidationError as exc:
        hint = " (this looks like a grid file: run it with `alignfreeze grid`)" if {"exclude", "resources"} & set(data) else ""
        raise AlignfreezeError(validation_message(exc, str(path)) + hint) from None
    except ValueError as exc:
        raise AlignfreezeError(f"invalid configuration in {path}: {exc}") from None
    return experiment
