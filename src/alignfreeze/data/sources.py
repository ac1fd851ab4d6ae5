"""The data-source registry: one :class:`DatasetSource` per kind of dataset alignfreeze reads.

Each entry says everything alignfreeze knows about one dataset: the files it is under the
data root (:attr:`~DatasetSource.layouts`), the splits it has, the Hugging Face dataset or
URL it can be had from (:attr:`~DatasetSource.hub`, :attr:`~DatasetSource.url`; the hub
configurations and splits themselves are listed in ``hub_configs.json``, the dataset cards'
lists, and checked against them offline), the columns read from the hub, the files a fetch
writes (:attr:`~DatasetSource.fetched_as`) and its licence. The catalog
(:class:`~alignfreeze.data.catalog.DataCatalog`), ``fetch`` and its dry run, the grid's data
listing and ``doctor`` all ask this registry, so they agree.

A split a source does not have is an error, never another split in its place: XQuAD has one
split, ``test`` (the hub's ``validation``), so a QA config that names XQuAD (or no dataset)
and trains on ``train`` is refused instead of training on XQuAD's evaluation set.

The entries are data, in ``sources.yaml`` beside this module (a field of
:class:`DatasetSource` per key, the reasons for a value as comments), so that the registry
reads as a table. Adding a dataset source: one entry there, or :func:`register_source` from
outside the package; see ``docs/how-to/add-a-dataset-source.md``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignfreeze.data.languages import LANGUAGE_NAMES, from_nllb_code, nllb_code, to_iso639_1
from alignfreeze.errors import AlignfreezeError

#: The kinds of data: the four tasks' data, and the resources realignment reads.
TASKS = ("pos", "ner", "nli", "qa")
RESOURCES = ("parallel", "dictionary", "gold_align")
KINDS = TASKS + RESOURCES

#: Other names of our splits (file names and configs say ``dev``; the hub says ``validation``).
SPLIT_ALIASES = {"validation": "dev", "val": "dev", "development": "dev"}

#: The configurations (and their splits, with sizes) of every hub dataset a source names, as
#: their cards list them: shipped with the package, read offline.
HUB_CONFIGS_FILE = Path(__file__).with_name("hub_configs.json")


def canonical_split(split: str) -> str:
    """Our name of a split: ``validation`` and its other spellings are ``dev``."""
    return SPLIT_ALIASES.get(split, split)


class NoSourceError(AlignfreezeError):
    """alignfreeze knows no source for a data set; the message says why."""


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face dataset reference (``load_dataset(path, name, split=..., revision=...)``)."""

    path: str
    name: str | None
    split: str
    revision: str | None = None
    data_dir: str | None = None  # a configuration's folder, where the revision has no configs block
    #: The columns read from it (checked when it is loaded): the source's :attr:`HubDataset.columns`.
    columns: tuple[str, ...] = ()

    @property
    def config(self) -> str | None:
        """The configuration as ``hub_configs.json`` lists it: its name, or its folder."""
        return self.name if self.name is not None else self.data_dir

    def describe(self) -> str:
        return (
            f"hub:{self.path}"
            + (f"/{self.name}" if self.name else "")
            + (f"/{self.data_dir}" if self.data_dir else "")
            + f"[{self.split}]"
            + (f"@{self.revision}" if self.revision else "")
        )


@dataclass(frozen=True)
class UrlSource:
    """A file at a URL: kept as it is, or, for parallel text (``languages`` given), a gzipped
    TSV whose first columns hold the sentences in ``languages``, in that order (NLLB's)."""

    url: str
    languages: tuple[str, ...] = ()

    def describe(self) -> str:
        return self.url


_LANG = r"(?P<lang>[a-z]{2,3})"
_SPLIT = r"(?P<split>train|dev|validation|test)"


@dataclass(frozen=True)
class Layout:
    """One file-name pattern of a source under the data root.

    ``pattern`` is a regular expression over the path relative to the root, where ``{lang}``
    and ``{split}`` stand for a language code and a split (train, dev, validation, test);
    other named groups: ``dataset`` (a part of the source, a UD treebank), ``src`` and
    ``tgt`` (a pair's two languages), ``pair`` (one parallel corpus's other language).
    Every pattern may sit in any subfolder. ``hint`` is the pattern as a glob, for error
    messages; ``split`` and ``language`` are fixed when the file name has none."""

    pattern: str
    hint: str
    split: str | None = None
    language: str | None = None

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(r"(?:.+/)?" + self.pattern.replace("{lang}", _LANG).replace("{split}", _SPLIT))

    def match(self, relative: str) -> dict[str, str] | None:
        """The groups of a file's path relative to the root (split and language normalised),
        or None when it does not match."""
        found = self.regex.fullmatch(relative)
        if not found:
            return None
        groups = {k: v for k, v in found.groupdict().items() if v is not None}
        if self.split and "split" not in groups:
            groups["split"] = self.split
        if self.language and "lang" not in groups:
            groups["lang"] = self.language
        groups["split"] = canonical_split(groups.get("split", ""))
        for key in ("lang", "src", "tgt", "pair"):
            if key in groups:
                groups[key] = to_iso639_1(groups[key])
        return groups


@dataclass(frozen=True)
class HubDataset:
    """Where a source is on the Hugging Face hub, as templates (see :class:`DatasetSource`);
    :meth:`DatasetSource.origin` fills them in to one :class:`HubSource`."""

    path: str  #: the hub repository (a key of ``hub_configs.json``)
    config: str | None = None  #: template of the configuration name
    data_dir: str | None = None  #: template of the configuration's folder (no configs block)
    revision: str | None = None
    #: Columns read from the hub (:func:`alignfreeze.data.hub.records_from_dataset` checks them).
    columns: tuple[str, ...] = ()


#: Our splits -> the hub's, for the datasets that have all three (the hub says ``validation``).
HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


@dataclass(frozen=True)
class DatasetSource:
    """One kind of dataset: where its files are, which splits it has, where it can be had.

    Templates (:attr:`HubDataset.config`, :attr:`HubDataset.data_dir`, :attr:`url`,
    :attr:`fetched_as`) are
    ``str.format`` strings over ``lang`` (the language code; the hub's own name for it where
    ``hub_configs.json`` lists ``language_aliases``), ``Language`` (its English name, as
    XTREME's ``udpos.French``), ``dataset`` (the part named, a UD treebank), ``split`` (ours),
    ``pair`` (a language pair as given, ``en-fr``) and ``a``/``b`` (the pair's codes sorted).

    Example::

        from alignfreeze.data.sources import DATA_SOURCES
        DATA_SOURCES["xquad"].splits          # {'test': 'validation'}: no train split
    """

    name: str  #: the ``dataset:`` a config names (``xquad``)
    kind: str  #: a task (``pos``, ``ner``, ``nli``, ``qa``) or a resource (``parallel``...)
    title: str  #: what it is, in a few words
    licence: str  #: as the dataset's card or release gives it
    layouts: tuple[Layout, ...] = ()
    #: The splits a download gives: our name -> the hub's (or the URL's). A split not listed
    #: has no download source, an error, never another split in its place. Local files
    #: have the splits their names say (:attr:`layouts`).
    splits: dict[str, str] = field(default_factory=dict)
    #: The source a task reads when a config names no dataset.
    default: bool = False
    #: Other ``dataset:`` values that mean this source.
    aliases: tuple[str, ...] = ()
    #: ``dataset:`` names a part of this source (a UD treebank) rather than the source.
    has_parts: bool = False
    #: The only language it has (SQuAD: ``en``).
    language: str | None = None
    #: Where it is on the Hugging Face hub: repository, configuration, columns.
    hub: HubDataset | None = None
    url: str | None = None  #: template of a URL the data is downloaded from, kept as it is
    #: Templates of the files a fetch writes, relative to the data root (one of
    #: :attr:`layouts` reads them back).
    fetched_as: tuple[str, ...] = ()
    #: Said after "no source" errors: what to do instead.
    hint: str = ""

    @property
    def fetchable(self) -> bool:
        return self.hub is not None or self.url is not None

    def hub_split(self, split: str) -> str:
        """The hub's name of our ``split``, or NoSourceError when the source has no such split."""
        split = canonical_split(split)
        if self.splits and split not in self.splits:
            raise NoSourceError(
                f"{self.title} has no split {split!r} (it has: {', '.join(self.splits)})"
                + (f"; {self.hint}" if self.hint else "")
            )
        return self.splits.get(split, split)

    def _values(self, language: str, split: str, dataset: str | None) -> dict[str, str]:
        values = {"lang": language, "pair": language, "split": split, "dataset": dataset or self.name}
        if "-" in language:
            values["a"], values["b"] = sorted(language.split("-"))
        return values

    def origin(self, language: str, split: str, dataset: str | None = None) -> HubSource | UrlSource:
        """Where this source's data for ``language`` and ``split`` can be had: its hub
        configuration and split, checked offline against ``hub_configs.json``, or its URL.
        NoSourceError says why there is none."""
        split = canonical_split(split)
        hint = f"; {self.hint}" if self.hint else ""
        if not self.fetchable:
            raise NoSourceError(f"no download source for {self.kind} dataset {self.name!r}{hint}")
        if self.language is not None and language != self.language:
            raise NoSourceError(f"{self.title} has one language, {self.language!r}")
        hub_split = self.hub_split(split)
        values = self._values(language, split, dataset)
        template = self.hub
        if template is None:
            assert self.url is not None
            return UrlSource(self.url.format(**values))
        listed = hub_dataset(template.path)
        if "{nllb_pair}" in (template.config or ""):
            values["nllb_pair"] = _nllb_pair(language, template.path, hint)
        values["lang"] = listed.get("language_aliases", {}).get(language, language)
        if "{Language}" in (template.config or ""):
            if language not in LANGUAGE_NAMES:
                family = (template.config or "").split(".")[0]
                raise NoSourceError(f"{template.path} has no {family} configuration for {language!r}{hint}")
            values["Language"] = LANGUAGE_NAMES[language]
        hub = HubSource(
            template.path,
            template.config.format(**values) if template.config else None,
            hub_split,
            revision=template.revision,
            data_dir=template.data_dir.format(**values) if template.data_dir else None,
            columns=template.columns,
        )
        hub = _checked(hub, hint)
        if self.url is None:
            return hub
        # Listed on the hub, downloaded from the files its loading script reads (NLLB).
        languages = tuple(from_nllb_code(c) for c in values["nllb_pair"].split("-")) if "nllb_pair" in values else ()
        return UrlSource(self.url.format(**values), languages)

    def files(self, language: str, split: str, dataset: str | None = None) -> tuple[str, ...]:
        """The files a fetch of this source writes, relative to the data root."""
        return tuple(t.format(**self._values(language, canonical_split(split), dataset)) for t in self.fetched_as)


# ------------------------------------------------------------------ the registry
#: The registry's entries, one per source, written as data (with the reasons as comments).
SOURCES_FILE = Path(__file__).with_name("sources.yaml")

_UD_LICENCE = "per treebank, as its LICENSE.txt gives it (en_ewt, fr_gsd: CC BY-SA 4.0)"
#: Short names ``sources.yaml`` uses for values many entries share.
_SHARED_VALUES = {"licence": {"ud": _UD_LICENCE}, "splits": {"hub": HUB_SPLITS}}


def source_from_entry(name: str, entry: dict[str, Any]) -> DatasetSource:
    """One :class:`DatasetSource` from its ``sources.yaml`` entry (lists become tuples)."""
    fields = dict(entry)
    for key, shared in _SHARED_VALUES.items():
        if isinstance(fields.get(key), str) and fields[key] in shared:
            fields[key] = shared[fields[key]]
    if "layouts" in fields:
        fields["layouts"] = tuple(Layout(**layout) for layout in fields["layouts"])
    if "hub" in fields:
        fields["hub"] = HubDataset(**{**fields["hub"], "columns": tuple(fields["hub"].get("columns", ()))})
    for key in ("aliases", "fetched_as"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return DatasetSource(name=name, **fields)


def _load_sources() -> dict[str, DatasetSource]:
    import yaml

    entries = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    return {name: source_from_entry(name, entry) for name, entry in entries.items()}


#: Source name -> :class:`DatasetSource`, read from ``sources.yaml``. A new dataset source
#: adds one entry there.
DATA_SOURCES: dict[str, DatasetSource] = _load_sources()


def register_source(source: DatasetSource) -> DatasetSource:
    """Add ``source`` to :data:`DATA_SOURCES` (a source of that name must not exist); the
    catalogs made after it find its files, and ``fetch`` its hub data.

    Example::

        af.register_source(DatasetSource(name="mypos", kind="pos", title="my treebank",
            licence="CC BY 4.0", layouts=(Layout(r"mypos/{lang}-{split}[.]conllu", "mypos/{lang}-{split}.conllu"),)))
    """
    if source.kind not in KINDS:
        raise AlignfreezeError(
            f"data source {source.name!r}: unknown kind {source.kind!r} (allowed: {', '.join(KINDS)})"
        )
    if source.name in DATA_SOURCES:
        raise AlignfreezeError(f"a data source named {source.name!r} exists already")
    if source.hub is not None:
        hub_dataset(source.hub.path)  # listed in hub_configs.json, or an error now
    DATA_SOURCES[source.name] = source
    return source


def sources_of(kind: str) -> list[DatasetSource]:
    """The registered sources of one kind, in registry order."""
    return [s for s in DATA_SOURCES.values() if s.kind == kind]


def find_source(kind: str, dataset: str | None) -> DatasetSource:
    """The source a ``(kind, dataset:)`` names: the kind's default without a dataset, the
    source of that name or alias, else the source whose parts are named (a UD treebank).
    NoSourceError when there is none."""
    if kind not in KINDS:
        raise NoSourceError(f"no download source for {kind!r} data")
    candidates = sources_of(kind)
    if dataset is None:
        default = next((s for s in candidates if s.default), None)
        if default is None:
            fetched = [s.name for s in candidates if s.fetchable]
            raise NoSourceError(
                f"no download source for {kind} dataset (any): name one"
                + (f" (fetched: {', '.join(fetched)})" if fetched else "")
            )
        return default
    for source in candidates:
        if dataset == source.name or dataset in source.aliases:
            return source
    with_parts = next((s for s in candidates if s.has_parts), None)
    if with_parts is not None:
        return with_parts
    raise NoSourceError(
        f"no download source for {kind} dataset {dataset!r} (known: {', '.join(s.name for s in candidates)})"
    )


def reference_dataset(kind: str, language: str, dataset: str | None) -> str | None:
    """``dataset: reference`` for pos: the UD treebank the AlignFreeze reference code reads
    for ``language``; any other dataset as it is."""
    if kind != "pos" or dataset != "reference":
        return dataset
    from alignfreeze.data.ud import REFERENCE_TREEBANKS

    if language not in REFERENCE_TREEBANKS:
        raise AlignfreezeError(
            f"the reference code has no UD treebank for {language!r} "
            f"(it has: {', '.join(sorted(REFERENCE_TREEBANKS))}); name a treebank as dataset"
        )
    return REFERENCE_TREEBANKS[language]


def remote_origin(kind: str, language: str, split: str, dataset: str | None = None) -> HubSource | UrlSource:
    """The source of one data set that is not under the data root: a hub dataset (its
    configuration and split checked offline against ``hub_configs.json``) or a URL. The one
    place that decides it: ``fetch`` and its dry run, the grid's data listing and a run's hub
    fallback all ask it, so they agree.

    Raises :class:`NoSourceError` (an AlignfreezeError) saying why there is none.

    Example::

        remote_origin("ner", "uk", "test").describe()   # 'hub:unimelb-nlp/wikiann/uk[test]'
        remote_origin("pos", "ca", "test")              # NoSourceError: no udpos.Catalan
        remote_origin("qa", "es", "train")              # NoSourceError: XQuAD has no split 'train'
    """
    try:
        dataset = reference_dataset(kind, language, dataset)
    except AlignfreezeError as exc:
        raise NoSourceError(str(exc)) from None
    return find_source(kind, dataset).origin(language, split, dataset)


def remote_source(kind: str, language: str, split: str, dataset: str | None = None) -> str | None:
    """:func:`remote_origin` as a short description (``hub:path/config[split]`` or a URL), or
    None when alignfreeze knows no source (:func:`remote_origin` says why)."""
    try:
        return remote_origin(kind, language, split, dataset).describe()
    except NoSourceError:
        return None


# ------------------------------------------------------------------ hub_configs.json
@functools.cache
def _hub_catalog() -> dict[str, Any]:
    return json.loads(HUB_CONFIGS_FILE.read_text(encoding="utf-8"))["datasets"]


def hub_dataset(path: str) -> dict[str, Any]:
    """What ``hub_configs.json`` records of one hub dataset (its configurations and splits)."""
    datasets = _hub_catalog()
    if path not in datasets:
        raise NoSourceError(f"{path} is not listed in {HUB_CONFIGS_FILE.name}, so its configurations are unknown")
    return datasets[path]


def hub_configs(path: str) -> dict[str, tuple[str, ...]]:
    """``{configuration: hub splits}`` of one hub dataset, as ``hub_configs.json`` records them."""
    return {name: tuple(splits) for name, splits in hub_dataset(path)["configs"].items()}


def hub_split_size(kind: str, language: str, split: str, dataset: str | None = None) -> int | None:
    """The number of examples of the hub split :func:`remote_origin` names for a data set, as
    ``hub_configs.json`` records it (the ``dataset_infos.json`` of the datasets library's
    loading scripts), read offline; None when it has no hub source or no recorded count.

    Example::

        hub_split_size("pos", "en", "train", "ewt")   # 12543 (UD en_ewt)
    """
    try:
        hub = remote_origin(kind, language, split, dataset)
    except NoSourceError:
        return None
    if not isinstance(hub, HubSource):
        return None
    splits = hub_dataset(hub.path)["configs"][hub.config]
    count = splits.get(hub.split) if isinstance(splits, dict) else None
    return count if isinstance(count, int) else None


def _nllb_pair(pair: str, path: str, hint: str = "") -> str:
    """An ``en-ha`` pair as ``path`` (allenai/nllb) names it: NLLB codes, in the order its
    card lists the pair (``eng_Latn-hau_Latn``, ``amh_Ethi-eng_Latn``), or NoSourceError."""
    if "-" not in pair:
        raise NoSourceError(f"{path} holds language pairs (en-ha), not {pair!r}")
    codes = [nllb_code(code) for code in pair.split("-")]
    unmapped = [code for code, nllb in zip(pair.split("-"), codes) if nllb is None]
    if unmapped:
        raise NoSourceError(
            f"{path}: no NLLB code for {', '.join(map(repr, unmapped))} (alignfreeze.data.languages.NLLB_CODES){hint}"
        )
    configs = hub_configs(path)
    for name in (f"{codes[0]}-{codes[1]}", f"{codes[1]}-{codes[0]}"):
        if name in configs:
            return name
    return f"{codes[0]}-{codes[1]}"  # not listed: _checked says so


def _checked(hub: HubSource, hint: str = "") -> HubSource:
    """``hub`` when its dataset card lists its configuration and split, else NoSourceError."""
    configs = hub_configs(hub.path)
    config = hub.config
    if config not in configs:
        family = config.split(".")[0] + "." if config and "." in config else ""  # udpos.*, xquad.*: count those alike
        listed = sum(name.startswith(family) for name in configs)
        raise NoSourceError(
            f"{hub.path} has no configuration {config!r} (its card lists {listed} "
            f"{family + '* ' if family else ''}configurations, see {HUB_CONFIGS_FILE.name}){hint}"
        )
    if hub.split not in configs[config]:
        raise NoSourceError(f"{hub.path} {config} has no split {hub.split!r} (it has: {', '.join(configs[config])})")
    return hub


def source_table() -> list[dict[str, str]]:
    """One row per registered source, for ``doctor`` and the docs: name, kind, what it is,
    its splits, where it is fetched from, its local layout and licence."""
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "title": s.title,
            "splits": ", ".join(s.splits) or "(as the files say)",
            "fetched from": (s.hub.path if s.hub else "")
            or (s.url.split("/{")[0] if s.url else "")
            or "(local files only)",
            "layout": " or ".join(layout.hint for layout in s.layouts) or "(fetched: " + ", ".join(s.fetched_as) + ")",
            "licence": s.licence,
        }
        for s in DATA_SOURCES.values()
    ]
