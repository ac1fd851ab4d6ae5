"""Typed run descriptions.

A YAML *experiment* file (:class:`ExperimentConfig`) lists models, methods and seeds;
:meth:`ExperimentConfig.runs` expands it into :class:`RunConfig` objects, each of which
fully describes one run (one model, task, method, freeze spec, aligner and seed). A run's id
is a hash of its resolved config, so the same run always gets the same id, and resuming
skips what is done. Paths to data are not part of a run (``--data-dir`` can move).

Every setting lives once, in the config class of the stage it belongs to: realignment in
:class:`~alignfreeze.realign.RealignConfig`, aligners in
:mod:`alignfreeze.align.config`, word inputs in
:class:`~alignfreeze.data.subwords.TokenizationSettings`, fine-tuning and scoring in
:mod:`alignfreeze.finetune.config`. A run embeds them.

**Protocols.** ``protocol: reference`` sets every setting on which our defaults differ from
the AlignFreeze authors' code to the authors' value (:data:`PROTOCOLS`); ``corrected``
(the default) keeps ours. A protocol is a bundle of settings that sits where it is written:
in a file, under that file's own settings; on the command line (``--set
protocol=reference``), over the file's settings and under the ``--set`` options after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alignfreeze.align.config import ALIGNER_CONFIGS, AlignerConfig, aligner_mapping
from alignfreeze.analysis.config import AnalysisSettings
from alignfreeze.data.refs import DataRef, ParallelRef, check_language
from alignfreeze.data.selection import LanguageSelection, RealignmentData, selected_pairs
from alignfreeze.data.subwords import TokenizationSettings
from alignfreeze.errors import AlignfreezeError
from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings, resolve_training
from alignfreeze.realign.config import DEFAULT_OBJECTIVE, MATCH, RealignConfig
from alignfreeze.realign.freeze import FreezeSchedule, FreezeSpec
from alignfreeze.schema import Method, TaskName, added_setting, identity_values

#: A seed: what ``random``, numpy and torch all take (numpy's ``seed`` refuses a negative
#: one or one from 2**32 on).
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]

#: The AlignFreeze paper's seeds: the first five of ``multilingual_eval/seeds.py`` line 1.
PAPER_SEEDS = (31, 42, 66, 23, 17)

#: Settings whose reference value differs from ours, per protocol (nested as in a config
#: file; ``aligner`` values apply to whichever aligner a run uses, where it has the field).
#: "corrected" is empty: our values are the config classes' defaults. The README's protocol
#: table cites the reference code for every value.
PROTOCOLS: dict[str, dict[str, dict[str, Any]]] = {
    "corrected": {},
    "reference": {
        "realignment": {
            "steps": MATCH,
            "batching": "mixed",
            "optimizer": "adam",
            "learning_rate": MATCH,
            "weight_decay": 0.0,
            "layer": "penultimate",
            "freeze_matching": "name_prefix",
            "sampling": "shuffle_buffer",
        },
        "tokenization": {
            "lone_boundary_pieces": "remove",
            "multiword_tokens": "keep_as_label",
            "zh_ner_segmentation": "jieba",
        },
        "training": {
            "long_sentences": "windows",
            "max_grad_norm": None,
            "group_by_length": False,
            "schedule_unit": "micro_batches",
            "schedule_micro_batch_size": "reference",
            "default_epochs": "reference",
        },
        "evaluation": {"ner_bio_repair": True, "qa_scorer": "reference"},
        "aligner": {
            "keep_one_to_one": True,
            "drop_identical": True,
            "unique_source": "any_translation",
            "reverse_dictionary": "forward_copy",
        },
    },
}
SECTIONS = ("realignment", "tokenization", "training", "evaluation")
#: Realignment settings that replace a protocol's value of another (both given is an error).
_GIVEN_INSTEAD = {"steps": "budget", "layer": "layers"}


def _governed() -> dict[str, set[str]]:
    """Section -> every key some protocol sets (what ``--set protocol=...`` takes over)."""
    out: dict[str, set[str]] = {}
    for values in PROTOCOLS.values():
        for section, settings in values.items():
            out.setdefault(section, set()).update(settings)
    return out


def _aligner_entries(data: dict) -> list[tuple[Any, Any]]:
    """``(container, key)`` of every aligner setting in an experiment mapping."""
    places = [(data, "aligner")] if "aligner" in data else []
    for method in data.get("methods") or []:
        if isinstance(method, dict) and method.get("aligner") is not None:
            places.append((method, "aligner"))
    return places


def apply_protocol(data: dict) -> dict:
    """``data`` with its protocol's values filled in under the values it sets itself."""
    name = data.get("protocol", "corrected")
    if not isinstance(name, str) or name not in PROTOCOLS:
        return data  # validation reports it
    values = PROTOCOLS[name]
    out = dict(data)
    for section in SECTIONS:
        if values.get(section):
            settings = dict(out.get(section) or {})
            for key, value in values[section].items():
                if section == "realignment" and settings.get(_GIVEN_INSTEAD.get(key, "")) is not None:
                    continue  # the file says it the other way (budget for steps, layers for layer)
                settings.setdefault(key, value)
            out[section] = settings
    if values.get("aligner"):
        out.setdefault("aligner", "dictionary")
        out["methods"] = [dict(m) if isinstance(m, dict) else m for m in out.get("methods") or []]
        for container, key in _aligner_entries(out):
            if container[key] in (None, "none"):
                continue
            try:
                mapping = dict(aligner_mapping(container[key]))
            except ValueError:
                continue  # validation reports it
            fields = (
                ALIGNER_CONFIGS[mapping.get("name", "")].model_fields if mapping.get("name") in ALIGNER_CONFIGS else {}
            )
            for setting, value in values["aligner"].items():
                if setting in fields:
                    mapping.setdefault(setting, value)
            container[key] = mapping
    return out


def _release_governed(data: dict) -> None:
    """Drop every setting a protocol governs from ``data`` (``--set protocol=X``: the
    protocol's values replace the file's)."""
    for section, keys in _governed().items():
        if section == "aligner":
            for container, key in _aligner_entries(data):
                if isinstance(container[key], dict):
                    container[key] = {k: v for k, v in container[key].items() if k not in keys}
        elif isinstance(data.get(section), dict):
            data[section] = {k: v for k, v in data[section].items() if k not in keys}


def _check_model(name: str) -> str:
    from alignfreeze.models.embedded import EMBEDDED_MODELS

    if name in EMBEDDED_MODELS or Path(name).expanduser().exists():
        return name
    if name.startswith((".", "/", "~")) or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise ValueError(
            f"model {name!r} is neither an embedded model ({', '.join(EMBEDDED_MODELS)}), an existing folder, nor a "
            "hub id (org/name)"
        )
    return name


def _migrate(data: Any) -> Any:
    """Accept files written before ``realignment_pairs`` left ``realignment`` (where it was
    ``realignment.pairs``), and ``aligner: none``."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    realignment = data.get("realignment")
    if isinstance(realignment, dict) and "pairs" in realignment:
        realignment = dict(realignment)
        pairs = realignment.pop("pairs")
        if "realignment_pairs" in data:
            raise ValueError("give the realignment data once: realignment_pairs (realignment.pairs is the old name)")
        data["realignment"], data["realignment_pairs"] = realignment, pairs
    if data.get("aligner") == "none":
        data["aligner"] = None
    if isinstance(data.get("aligner"), str):
        data["aligner"] = aligner_mapping(data["aligner"])
    return data


class RunOutputs(BaseModel):
    """What a run keeps and reports besides its results -- not part of its identity (its
    ``run_id``): the same run tracked or not, its model saved or not, gives the same numbers.

    * ``tracking``: where the run's resolved config, losses and learning rate per step, scores
      per language and alignment curves are also sent, through accelerate's trackers:
      ``tensorboard`` (event files under ``<out>/tracking/<run_id>/``), ``wandb``, ``mlflow``
      (each needs its package; see the README), or ``none``.
    * ``save_model``: ``final`` keeps the fine-tuned model under ``runs/<run_id>/model/`` and,
      for a run that realigns before fine-tuning, the realigned encoder under
      ``runs/<run_id>/realigned/``, in safetensors with the tokenizer; ``none`` keeps neither.

    Example::

        experiment = af.load_experiment("configs/demo.yaml", ["tracking=tensorboard", "save_model=final"])
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    tracking: Literal["none", "tensorboard", "wandb", "mlflow"] = "none"
    save_model: Literal["none", "final"] = "none"


#: Settings that change what a run records, not what it computes: out of its id.
OUTPUT_FIELDS = tuple(RunOutputs.model_fields)


def _one_or_list(value: Any) -> Any:
    """A single data entry where a list of them is expected (``train: {language: en}``)."""
    return [value] if isinstance(value, (dict, DataRef)) else value


def models_from_model(data: dict) -> dict:
    """``data`` with ``model:`` (one name, or a list of them) given as the ``models`` list:
    the one place an experiment's or a grid's ``model`` becomes ``models``."""
    if "model" not in data:
        return data
    if "models" in data:
        raise ValueError("give the model once: model (one) or models (a list), not both")
    data = dict(data)
    model = data.pop("model")
    data["models"] = model if isinstance(model, list) else [model]
    return data


class RunSettings(RunOutputs):
    """The settings one run and a whole experiment share, written once: the task, its
    training data, the realignment data, and each stage's settings. :class:`RunConfig` (one
    run) and :class:`ExperimentConfig` (the runs of a file) are built from it."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    task: TaskName
    train: list[DataRef] = Field(min_length=1, description="training data, concatenated")
    realignment: RealignConfig = Field(default_factory=RealignConfig)
    realignment_pairs: list[ParallelRef] = Field(
        default_factory=list, description="parallel data to align and realign on"
    )
    tokenization: TokenizationSettings = Field(default_factory=TokenizationSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    _train = field_validator("train", mode="before")(classmethod(lambda cls, v: _one_or_list(v)))


#: The settings an experiment hands to each of its runs (:meth:`ExperimentConfig.runs`).
SHARED_FIELDS = tuple(RunSettings.model_fields)


#: When a method's freeze holds (``freeze_scope``): realignment only (AlignFreeze), fine-tuning
#: only (with ``baseline``: a baseline with frozen layers, the emnlp-2026 code's
#: ``baseline_freeze_realign_unfreeze``, ``multilingual_eval/training/training_loops.py``
#: 486-507), or both (that code's freeze, applied again before fine-tuning, l. 1572).
FreezeScope = Literal["realignment", "finetuning", "both"]


def _migrate_freeze_scope(data: Any) -> Any:
    """Read ``freeze_during_finetuning: true`` (the setting before ``freeze_scope``) as scope
    ``both``; ``false`` was the default."""
    if not isinstance(data, dict) or "freeze_during_finetuning" not in data:
        return data
    data = dict(data)
    old = data.pop("freeze_during_finetuning")
    if old not in (True, False):
        raise ValueError(f"freeze_during_finetuning is true or false, not {old!r} (its new name: freeze_scope)")
    if old and data.get("freeze_scope", "both") != "both":
        raise ValueError(
            f"freeze_during_finetuning: true is freeze_scope: both, not {data['freeze_scope']!r}: "
            "give freeze_scope alone"
        )
    if old:
        data["freeze_scope"] = "both"
    return data


class MethodSettings(BaseModel):
    """When to realign, what to freeze, when the freeze holds and whether it is gradually
    released: a method's settings, shared by :class:`MethodSpec` (an experiment's entry) and
    :class:`RunConfig` (one run)."""

    model_config = ConfigDict(extra="forbid")
    method: Method
    freeze: FreezeSpec = Field(
        FreezeSpec.parse("none"),
        description="FreezeSpec: frozen during 'before' realignment; for 'during', the layers the realignment gradient "
        "does not reach (the task's still does); 'front/attention', 'layers:0-5/ffn': a sub-module only",
    )
    freeze_scope: FreezeScope = added_setting(
        "realignment",
        description="when the freeze holds: realignment, finetuning (a baseline with frozen layers), or both "
        "(freeze_during_finetuning: true in older files)",
    )
    freeze_schedule: Optional[FreezeSchedule] = added_setting(
        None,
        description="gradual unfreezing during realignment, {unfreeze: bottom_up|top_down, every: K}: the frozen "
        "layers are released one every K steps",
    )

    _freeze_scope = model_validator(mode="before")(classmethod(lambda cls, data: _migrate_freeze_scope(data)))

    @model_validator(mode="after")
    def _schedule_fits(self) -> "MethodSettings":
        if self.freeze_schedule is None or self.method == "baseline":
            return self  # a baseline does not realign: resolved() drops it
        if not self.method.realigns_before:
            raise ValueError(
                "freeze_schedule releases layers during realignment before fine-tuning; "
                f"method '{self.method}' has none"
            )
        if self.freeze_scope != "realignment":
            raise ValueError(f"freeze_schedule needs freeze_scope realignment, not {self.freeze_scope!r}")
        if self.freeze == "none":
            raise ValueError("freeze_schedule releases the layers of freeze, and freeze is none")
        return self

    @property
    def realignment_freeze(self) -> FreezeSpec:
        """What stays fixed during realignment (``none`` for scope ``finetuning``)."""
        return self.freeze if self.freeze_scope != "finetuning" else FreezeSpec.parse("none")

    @property
    def finetuning_freeze(self) -> FreezeSpec:
        """What stays fixed during fine-tuning (``none`` for scope ``realignment``)."""
        return self.freeze if self.freeze_scope != "realignment" else FreezeSpec.parse("none")

    @property
    def freeze_label(self) -> str:
        """The freeze as results (``freeze`` column) and labels show it: the spec, then
        ``@finetuning`` or ``@both`` where it holds beyond realignment, then ``~ORDER:K`` with a
        schedule: ``front``, ``front@both``, ``layers:0-3~top_down:100``."""
        scope = "" if self.freeze_scope == "realignment" else f"@{self.freeze_scope}"
        schedule = f"~{self.freeze_schedule}" if self.freeze_schedule is not None else ""
        return f"{self.freeze}{scope}{schedule}"


def _objective_needs_links(name: str) -> bool:
    from alignfreeze.realign.objectives import objective_class

    try:
        return objective_class(name).needs_links
    except AlignfreezeError as exc:
        raise ValueError(str(exc)) from None


class RunConfig(RunSettings, MethodSettings):
    """One run: everything that determines its results -- model, task, method, freeze spec,
    aligner, seed, data, and the settings of each stage (realignment, tokenization,
    training, evaluation, analysis). Its ``run_id`` is a hash of the resolved config, so the
    same run always gets the same id and a rerun skips it. Data paths are not part of it.

    Example::

        run = af.load_experiment("configs/demo.yaml").runs()[0]
        run.run_id, run.label
        changed = af.RunConfig(**{**run.model_dump(), "seed": 7})
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model: str
    aligner: Optional[AlignerConfig] = None
    seed: Seed = 0
    eval: list[DataRef]

    _migrate = model_validator(mode="before")(classmethod(lambda cls, data: _migrate(data)))
    _model = field_validator("model")(classmethod(lambda cls, v: _check_model(v)))

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        if self.method != "baseline":
            objective = self.realignment.objective
            # The default objective learns from links; only another one imports the registry (torch).
            linked = objective == DEFAULT_OBJECTIVE or _objective_needs_links(objective)
            if self.aligner is None and linked:
                raise ValueError(
                    f"method {self.method!r} with objective {objective} needs an aligner "
                    f"(allowed: {', '.join(ALIGNER_CONFIGS)}; objective contrastive_sentence takes aligner: none)"
                )
            if self.aligner is not None and not linked:
                raise ValueError(f"objective {objective} uses no word links: give aligner: none")
            if not self.realignment_pairs:
                raise ValueError(f"method {self.method!r} needs realignment_pairs")
            if self.aligner is not None:
                self.aligner.check_pairs([ref.pair for ref in self.realignment_pairs])
            weighting = self.realignment.language_weighting
            if weighting != "uniform" and self.realignment.batching != "by_pair":
                raise ValueError(f"realignment.language_weighting {weighting} needs realignment.batching by_pair")
            if weighting.startswith("meta") and self.method != Method.BEFORE:
                raise ValueError(
                    f"realignment.language_weighting {weighting} learns its weights before realigning: method before "
                    f"only (got {self.method})"
                )
        if not self.eval:
            raise ValueError("eval lists no language")
        return self

    def resolved(self) -> "RunConfig":
        """Defaults that depend on the model or task filled in (``learning_rate: match`` made
        the fine-tuning learning rate: the one place it is resolved), and the fields that
        cannot matter for this method normalised: a baseline
        has no aligner, freeze or realignment; a ``during`` run realigns once per fine-tuning
        step (``steps: match``)."""
        from alignfreeze.models.layers import model_default_word_vector

        values = self.model_dump()
        training = resolve_training(self.training, self.model, self.task)
        values["training"] = training.model_dump()
        if self.realignment.learning_rate == MATCH:
            values["realignment"]["learning_rate"] = training.learning_rate
        if self.method == Method.DURING:
            values["realignment"]["steps"] = MATCH
            values["realignment"]["budget"] = None  # one batch per fine-tuning step
        if self.method == "baseline":
            # A baseline does not realign: only a freeze held in fine-tuning can matter.
            kept = self.finetuning_freeze != "none"
            values.update(aligner=None, realignment_pairs=[], freeze_schedule=None)
            values.update(freeze=self.freeze if kept else "none", freeze_scope="finetuning" if kept else "realignment")
            values["realignment"] = RealignConfig().model_dump()
        # The model's kind, read once from its config.json: "first" (an encoder) or "last".
        model_word_vector = model_default_word_vector(self.model)
        if values["realignment"]["word_vector"] is None:
            # Before the id is hashed, as the training defaults: an encoder's "first" is the
            # value every id written before word_vector could be null hashed.
            values["realignment"]["word_vector"] = model_word_vector
        if values["tokenization"]["label_subword"] is None and model_word_vector == "last":
            # A decoder's tags go on each word's last subword; an encoder's null (its first
            # subword) stays out of the id, as every id before label_subword existed.
            values["tokenization"]["label_subword"] = "last"
        return RunConfig(**values)

    def realignment_steps(self, finetune_steps: int | None) -> int | None:
        """Realignment steps before fine-tuning: 0 for a method that does not realign then,
        the number the config sets (``steps``, or ``ceil(budget / batch_size)``), or for ``steps: match`` as many as fine-tuning's
        optimiser steps (``finetune_steps``; None while those are not known). With
        :meth:`resolved` (``learning_rate: match``), the one place ``match`` is read."""
        if not self.method.realigns_before:
            return 0
        if self.realignment.steps == MATCH:
            return finetune_steps
        return int(self.realignment.steps)

    @property
    def run_id(self) -> str:
        resolved = self.resolved()
        values = identity_values(resolved, resolved.model_dump(mode="json", exclude=set(OUTPUT_FIELDS)))
        # freeze_scope replaced the boolean freeze_during_finetuning, which every id hashed:
        # scope "both" is the old true, "realignment" the old false, so those ids stay.
        scope = values.pop("freeze_scope", "realignment")
        values["freeze_during_finetuning"] = scope == "both"
        if scope == "finetuning":
            values["freeze_scope"] = scope
        if self.method != "baseline":
            # Realignment draws its sentence pairs lazily (alignfreeze.realign.stream), a
            # different sample from the whole-corpus encoding before it: such runs got new
            # ids then (CHANGELOG), so that one results folder never mixes the two.
            values["realignment_data"] = "stream"
        if not self.analysis.alignment:
            # Analysis settings cannot change a run that does not measure alignment; keeping
            # them out of the hash keeps the ids of such runs stable as the settings grow.
            values["analysis"] = {"alignment": False}
        payload = json.dumps(values, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def aligner_name(self) -> str:
        """The aligner as results name it (``none`` for a baseline)."""
        return self.aligner.name if self.aligner is not None else "none"

    @property
    def label(self) -> str:
        """Method as shown in tables: ``before/front/dictionary``, ``before/front@both/dictionary``;
        ``baseline``, or ``baseline/front@finetuning`` for a baseline with frozen layers."""
        if self.method == "baseline":
            return "baseline" if self.finetuning_freeze == "none" else f"baseline/{self.freeze}@finetuning"
        return f"{self.method}/{self.freeze_label}/{self.aligner_name}"


class MethodSpec(MethodSettings):
    """One method of an experiment: when to realign (``baseline``, ``before``, ``during``,
    ``before+during``), what to freeze (a :class:`FreezeSpec`: ``front`` and ``back`` are
    AlignFreeze's), when the freeze holds (``freeze_scope``: ``realignment``, ``finetuning``
    or ``both``), whether it is released gradually during realignment (``freeze_schedule``:
    a :class:`~alignfreeze.realign.freeze.FreezeSchedule`), and with which aligner (default:
    the experiment's).

    Example::

        af.MethodSpec(method="before", freeze="front", aligner="dictionary")
        af.MethodSpec(method="before", freeze="layers:0-3", freeze_schedule="top_down:100")
        af.MethodSpec(method="baseline", freeze="front", freeze_scope="finetuning")
        # in YAML:  methods: [{method: baseline}, {method: before, freeze: front/attention, freeze_scope: both}]
    """

    aligner: Optional[AlignerConfig] = Field(None, description="this method's aligner (default: the experiment's)")

    @model_validator(mode="before")
    @classmethod
    def _aligner_by_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("aligner"), str) and data["aligner"] != "none":
            data = {**data, "aligner": aligner_mapping(data["aligner"])}
        return data


class ExperimentConfig(RunSettings):
    """A YAML experiment: one task, lists of models, methods and seeds, and the settings every
    run shares. :meth:`runs` expands it into one :class:`RunConfig` per model x method x seed
    (a grid file may make any setting a list: :func:`load_grid`).

    Example::

        experiment = af.load_experiment("configs/demo.yaml", ["seeds=[0,1]"])
        [run.run_id for run in experiment.runs()]
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    name: str = "experiment"
    protocol: Literal["corrected", "reference"] = Field(
        "corrected", description="'reference': every setting at the AlignFreeze authors' value (see the README)"
    )
    models: list[str] = Field(min_length=1)
    methods: list[MethodSpec] = Field(min_length=1)
    aligner: Optional[AlignerConfig] = Field(default_factory=lambda: aligner_mapping("dictionary"))
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    eval: list[DataRef] = Field(default_factory=list)
    eval_languages: list[str] = Field(default_factory=list, description="shorthand: one eval entry per language")
    eval_split: str = "test"
    eval_dataset: str | None = None
    eval_limit: int | None = Field(None, ge=1, description="use the first N records of each eval_languages entry")
    eval_premise_split: Literal["train", "test"] | None = None
    realignment_languages: Optional[Union[str, list[str], LanguageSelection]] = Field(
        None,
        description="shorthand for realignment_pairs: a list of languages, 'all', a named selection (xt_afri, "
        "most_uriel_en_40) or {select: all | most_distant, pool:, from:, n:, features:, script:, family:}; each "
        "language X becomes the pair source-X of realignment_data (alignfreeze.data.selection)",
    )
    realignment_data: RealignmentData = Field(
        default_factory=RealignmentData,
        description="realignment_languages: the corpus of its pairs ({source: en, dataset:, split:, limit:})",
    )

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = apply_protocol(_migrate(models_from_model(data)))
        return data

    @field_validator("realignment_languages", mode="before")
    @classmethod
    def _selection_mapping(cls, value: Any) -> Any:
        # A mapping is a LanguageSelection: say what is wrong with it, not with each Union arm.
        if isinstance(value, dict):
            try:
                return LanguageSelection.model_validate(value)
            except ValidationError as exc:
                raise ValueError(
                    "; ".join(
                        f"{'.'.join(map(str, e['loc'])) or 'selection'}: {e['msg'].removeprefix('Value error, ')}"
                        for e in exc.errors()
                    )
                ) from None
        return value

    @model_validator(mode="after")
    def _select_languages(self) -> "ExperimentConfig":
        # The one place realignment_languages becomes realignment_pairs: every run gets the
        # selected list (its resolved config, --dry-run), whichever way it was written.
        if self.realignment_languages is None:
            return self
        if self.realignment_pairs:
            raise ValueError("give the realignment data once: realignment_languages or realignment_pairs, not both")
        try:
            self.realignment_pairs = selected_pairs(self.realignment_languages, self.realignment_data)
        except AlignfreezeError as exc:
            raise ValueError(f"realignment_languages: {str(exc).removeprefix('realignment_languages: ')}") from None
        return self

    _langs = field_validator("eval_languages")(classmethod(lambda cls, v: [check_language(x) for x in v]))

    def runs(self) -> list[RunConfig]:
        evals = list(self.eval) + [
            DataRef(
                language=lang,
                split=self.eval_split,
                dataset=self.eval_dataset,
                limit=self.eval_limit,
                premise_split=self.eval_premise_split,
            )
            for lang in self.eval_languages
        ]
        out = []
        analysis = self.analysis
        if analysis.alignment:
            extra = [ref for ref in self.realignment_pairs if ref not in analysis.exclude_pairs]
            analysis = analysis.model_copy(update={"exclude_pairs": list(analysis.exclude_pairs) + extra})
        shared = {**{name: getattr(self, name) for name in SHARED_FIELDS}, "analysis": analysis}
        for model in self.models:
            for spec in self.methods:
                for seed in self.seeds:
                    aligner = None if spec.method == "baseline" else (spec.aligner or self.aligner)
                    out.append(
                        RunConfig(
                            **shared,
                            **{name: getattr(spec, name) for name in MethodSettings.model_fields},
                            model=model,
                            aligner=aligner,
                            seed=seed,
                            eval=evals,
                        ).resolved()
                    )
        return out


def _override_error(assignment: str, problem: str) -> AlignfreezeError:
    return AlignfreezeError(f"--set {assignment!r}: {problem}")


def _shown_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def apply_override(data: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a nested dict/list in place.

    ``protocol=X`` also drops the settings any protocol governs from ``data``, so that X's
    values replace the file's (later overrides still apply on top). A key path that does
    not fit ``data`` (through a value that is not a mapping or list, an index out of range)
    and a value that is not YAML are :class:`AlignfreezeError` naming the ``--set``."""
    if "=" not in assignment:
        raise _override_error(assignment, "expected key.path=value")
    path, raw = assignment.split("=", 1)
    keys = [key.strip() for key in path.strip().split(".")]
    if not path.strip():
        raise _override_error(assignment, "no setting before '=' (expected key.path=value)")
    if "" in keys:
        raise _override_error(assignment, f"empty key in {path.strip()!r} (expected key.path=value)")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _override_error(assignment, f"not valid YAML after '=' ({problem})") from None
    if keys == ["protocol"]:
        migrated = _migrate(data)
        data.clear()
        data.update(migrated)
        _release_governed(data)
    if keys[0] == "models" and "model" in data and "models" not in data:
        # The file's `model:` is the models list that `--set models...` changes.
        normalised = models_from_model(data)
        data.clear()
        data.update(normalised)
    node: Any = data
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the config"
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not re.fullmatch(r"\d+", key):
                raise _override_error(assignment, f"{where} is a list: {key!r} is not an index (0, 1, ...)")
            if int(key) >= len(node):
                entries = f"{len(node)} entr{'y' if len(node) == 1 else 'ies'}"
                span = f" (indices 0-{len(node) - 1})" if node else ""
                raise _override_error(assignment, f"{where} has {entries}{span}, so no index {key}")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
            continue
        if not isinstance(node, dict):
            raise _override_error(assignment, f"{where} is {_shown_value(node)}, not a mapping of settings")
        if last:
            node[key] = value
            return
        if key == "aligner" and not isinstance(node.get(key), dict):
            # `--set aligner.x=...` on an aligner given by name (or the default one)
            try:
                node[key] = dict(aligner_mapping(node.get(key) or "dictionary"))
            except (ValueError, TypeError) as exc:
                raise _override_error(assignment, f"aligner: {exc}") from None
        if node.get(key) is None:
            node[key] = {}
        node = node[key]


#: The ``--set`` assignments applied to each config file read by :func:`read_config_mapping`
#: (by its path as given), so that :func:`validation_message` blames an error in a value a
#: ``--set`` gave on that ``--set``, not on the file.
_OVERRIDES_APPLIED: dict[str, tuple[str, ...]] = {}


def _override_keys(assignment: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in assignment.split("=", 1)[0].strip().split("."))


#: An expanded run's fields (RunConfig) that an experiment's list gives (ExperimentConfig).
_RUN_FIELD_OF = {"models": "model", "seeds": "seed"}


def _blamed_override(loc: tuple[str, ...], overrides: tuple[str, ...]) -> str | None:
    """The last ``--set`` whose key path is ``loc`` or a path above or below it (``models.0``
    for an expanded run's ``model``)."""
    for assignment in reversed(overrides):
        keys = _override_keys(assignment)
        if keys[0] in _RUN_FIELD_OF and loc[:1] == (_RUN_FIELD_OF[keys[0]],):
            return assignment
        if keys[: len(loc)] == loc[: len(keys)]:
            return assignment
    return None


def validation_message(exc: ValidationError, source: str = "", overrides: list[str] | None = None) -> str:
    """One line for a config's validation errors: ``invalid configuration in SOURCE: a.b:
    problem; ...``. An error in a setting a ``--set`` gave (``overrides``; by default those
    :func:`read_config_mapping` applied to ``source``) is blamed on that ``--set``."""
    if overrides is None:
        overrides = next(
            (
                applied
                for path, applied in _OVERRIDES_APPLIED.items()
                if source == path or source.startswith(f"{path} (")
            ),
            (),
        )
    from_file, from_set = [], []
    for e in exc.errors():
        loc = tuple(str(x) for x in e["loc"])
        where = ".".join(loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            msg = f"{msg} (got {e['input']!r})"
        blamed = _blamed_override(loc, tuple(overrides)) if loc else None
        if blamed is not None:
            from_set.append(f"--set {blamed!r}: {where}: {msg}")
        else:
            from_file.append(f"{where}: {msg}")
    parts = from_set + ([f"in {source}: " + "; ".join(from_file)] if from_set and source and from_file else from_file)
    head = "invalid configuration" + (f" in {source}" if source and from_file and not from_set else "")
    return f"{head}: " + "; ".join(parts)


def read_config_mapping(path: str | Path, overrides: list[str] | None = None) -> dict:
    """The top-level mapping of a YAML config file, with ``--set a.b=value`` overrides applied."""
    from alignfreeze.data.textfile import read_text

    try:
        data = yaml.safe_load(read_text(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise AlignfreezeError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise AlignfreezeError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise AlignfreezeError(f"{path}: expected a mapping of settings at the top level")
    for assignment in overrides or []:
        apply_override(data, assignment)
    _OVERRIDES_APPLIED[str(path)] = tuple(overrides or ())
    return data


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read and validate a YAML experiment, with ``--set``-style overrides (``a.b=value``, the
    value read as YAML) applied first. Errors name the file, and the line for YAML syntax.

    Example::

        experiment = af.load_experiment("configs/demo.yaml", ["realignment.steps=50", "protocol=reference"])
        runs = experiment.runs()
    """
    data = read_config_mapping(path, overrides)
    try:
        experiment = ExperimentConfig(**data)
        experiment.runs()  # validates every expanded run (and its resolved settings)
    except ValidationError as exc:
        hint = (
            " (this looks like a grid file: run it with `alignfreeze grid`)"
            if {"exclude", "resources"} & set(data)
            else ""
        )
        raise AlignfreezeError(validation_message(exc, str(path)) + hint) from None
    except ValueError as exc:
        raise AlignfreezeError(f"invalid configuration in {path}: {exc}") from None
    return experiment
