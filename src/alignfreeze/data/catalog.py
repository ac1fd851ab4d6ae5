"""Resolve (task, language, split) to data files under a data root, or to a hub dataset.

The data root is ``--data-dir``, else ``$ALIGNFREEZE_DATA``, else ``../shared/data``
beside the repository. Files are recognised by the path patterns in :data:`LAYOUTS`, so
any language and any treebank that follows a pattern is found; nothing is tied to the
languages bundled in ``shared/``. Each pattern is relative to the root and may sit in any
subfolder where it says ``(?:.+/)?``.

When no local file matches, :meth:`DataCatalog.resolve` falls back to the Hugging Face
dataset the papers used, in its parquet form (the script loaders stopped working in
``datasets`` >= 4): ``google/xtreme`` (``udpos.<Language>``) or one UD treebank for PoS,
``unimelb-nlp/wikiann`` (``<lang>``, as the AlignFreeze authors load it) for NER,
``facebook/xnli`` and ``google/xquad``, and ``rajpurkar/squad`` for English QA training (``dataset: squad``).
Which source a data set has, if any, is decided in one place, :func:`remote_origin`, which
checks every hub configuration and split offline against ``hub_configs.json`` (the lists of
the dataset cards): ``fetch``, its dry run, the grid's data listing and a run reading from
the hub all ask it. Parallel text, dictionaries and gold alignments have no hub fallback in
a run; OPUS-100 files (``opus.en-fr-train.en`` + ``opus.en-fr-train.fr``) are recognised
when placed under the root, and ``fetch`` gets them (and MUSE dictionaries) from the sources
:func:`remote_origin` names.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from alignfreeze.data.languages import LANGUAGE_NAMES, to_iso639_1
from alignfreeze.errors import AlignfreezeError
from alignfreeze.paths import default_data_root
from alignfreeze.schema import TaskName

#: What the catalog finds: task data (by task name) and resources.
TASK_DATA = tuple(task.value for task in TaskName)
RESOURCES = ("parallel", "dictionary", "gold_align")
_SPLIT_ALIASES = {"validation": "dev", "val": "dev", "development": "dev"}


@dataclass(frozen=True)
class Layout:
    kind: str  # a task or a resource
    dataset: str | None  # fixed dataset name, or None when the pattern captures it
    pattern: re.Pattern[str]
    split: str | None = None  # fixed split when the file name has none
    hint: str = ""  # the pattern as a glob, for error messages ({lang}, {split}, {dataset})
    language: str | None = None  # fixed language when the file name has none

    def match(self, relative: str) -> dict[str, str] | None:
        m = self.pattern.fullmatch(relative)
        if not m:
            return None
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        g.setdefault("dataset", self.dataset or "")
        if self.split and "split" not in g:
            g["split"] = self.split
        if self.language and "lang" not in g:
            g["lang"] = self.language
        g["split"] = _SPLIT_ALIASES.get(g.get("split", ""), g.get("split", ""))
        if "lang" in g:
            g["lang"] = to_iso639_1(g["lang"])
        return g


def _layout(
    kind: str, dataset: str | None, pattern: str, hint: str, split: str | None = None, language: str | None = None
) -> Layout:
    return Layout(kind, dataset, re.compile(pattern), split, hint, language)


_L = r"(?P<lang>[a-z]{2,3})"
_S = r"(?P<split>train|dev|validation|test)"
LAYOUTS: tuple[Layout, ...] = (
    _layout(
        "pos", None, rf"(?:.+/)?{_L}_(?P<dataset>[a-z0-9]+)-ud-{_S}\.conllu", "**/{lang}_{dataset}-ud-{split}.conllu"
    ),
    _layout("ner", "panx", rf"(?:.+/)?panx/{_S}-{_L}\.tsv", "**/panx/{split}-{lang}.tsv"),
    _layout("ner", "panx", rf"(?:.+/)?panx/{_L}/{_S}(?:\.tsv)?", "**/panx/{lang}/{split}[.tsv]"),
    _layout("nli", "xnli", rf"(?:.+/)?xnli/{_S}-{_L}\.tsv", "**/xnli/{split}-{lang}.tsv"),
    _layout("qa", "xquad", rf"(?:.+/)?xquad\.{_L}\.json", "**/xquad.{lang}.json", split="test"),
    # SQuAD v1.1 as released (train-v1.1.json, dev-v1.1.json), English by definition.
    _layout("qa", "squad", rf"(?:.+/)?squad/{_S}-v1\.1\.json", "**/squad/{split}-v1.1.json", language="en"),
    _layout("qa", "tydiqa", rf"(?:.+/)?tydiqa\.goldp\.{_L}\.{_S}\.json", "**/tydiqa.goldp.{lang}.{split}.json"),
    _layout(
        "qa",
        "mlqa",
        rf"(?:.+/)?mlqa-{_S}-context-{_L}-question-(?P=lang)\.json",
        "**/mlqa-{split}-context-{lang}-question-{lang}.json",
    ),
    # Parallel text: one file per language; pairs are formed at resolve time.
    _layout("parallel", "un", rf"(?:.+/)?UNv1\.0\.(?P<split>dev|test)set\.{_L}", "**/UNv1.0.{split}set.<lang>"),
    _layout(
        "parallel",
        "opus100",
        r"(?:.+/)?opus\.(?P<src>[a-z]{2,3})-(?P<tgt>[a-z]{2,3})-(?P<split>train|dev|test)\.(?P<lang>[a-z]{2,3})",
        "**/opus.<src>-<tgt>-{split}.<lang>",
    ),
    _layout(
        "parallel",
        "tatoeba",
        r"(?:.+/)?tatoeba\.(?P<pair>[a-z]{3})-eng\.(?P<lang>[a-z]{3})",
        "**/tatoeba.<xxx>-eng.{{<xxx>,eng}}",
        split="test",
    ),
    _layout(
        "dictionary",
        "muse",
        r"(?:.+/)?(?P<src>[a-z]{2,3})-(?P<tgt>[a-z]{2,3})(?:\.(?P<split>[\d-]+))?\.(?:dict|txt)",
        "**/{lang}[.N-M].{{dict,txt}}",
    ),
    _layout(
        "gold_align",
        None,
        r"(?:.+/)?(?P<dataset>[a-z]{2})(?P<tgt>[a-z]{2})\.src-tgt",
        "**/<src><tgt>.src-tgt + .gold",
        split="test",
    ),
)


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face dataset reference (``load_dataset(path, name, split=..., revision=...)``)."""

    path: str
    name: str | None
    split: str
    revision: str | None = None
    data_dir: str | None = None  # a configuration's folder, where the revision has no configs block

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
    """A file at a URL, kept as it is."""

    url: str

    def describe(self) -> str:
        return self.url


class NoSourceError(AlignfreezeError):
    """alignfreeze knows no source for a data set; the message says why."""


#: PoS (XTREME's udpos, ``udpos.<Language>``; its PAN-X configurations are listed in
#: ``hub_configs.json`` but not read: they lack 12 of the paper's 34 NER languages).
XTREME_HUB = "google/xtreme"
#: NER: WikiANN, as the AlignFreeze reference loads it (``load_dataset("wikiann", lang)``,
#: ``multilingual_eval/datasets/wikiann_ner.py``), now ``unimelb-nlp/wikiann`` on the hub:
#: 176 configurations named by language code, ``tokens``/``ner_tags``/``langs``/``spans``.
WIKIANN_HUB = "unimelb-nlp/wikiann"
XNLI_HUB = "facebook/xnli"
XQUAD_HUB = "google/xquad"
SQUAD_HUB = ("rajpurkar/squad", "plain_text")
#: The parquet conversion of the script-based UD dataset (UD 2.7, the one the AlignFreeze
#: reference loads: multilingual_eval/datasets/xtreme_udpos.py lines 58-63): the hub's
#: ``refs/convert/parquet`` branch, one folder per treebank (``en_ewt/test/0000.parquet``).
#: Its main branch holds a loading script, which ``datasets`` >= 4 refuses to run.
UD_HUB = ("universal-dependencies/universal_dependencies", "refs/convert/parquet")
#: OPUS-100: one configuration per English-centred pair, the two codes sorted (``ar-en``, ``en-fr``).
OPUS100_HUB = "Helsinki-NLP/opus-100"
#: Where the AlignFreeze reference downloads its MUSE dictionaries
#: (``download_resources/muse_dictionaries.sh`` line 12).
MUSE_URL = "https://dl.fbaipublicfiles.com/arrival/dictionaries/{pair}.txt"


@dataclass
class DataSource:
    """What :meth:`DataCatalog.resolve` returns: local files, or a hub dataset."""

    task: str
    language: str
    split: str
    files: list[Path] = field(default_factory=list)
    hub: HubSource | None = None
    dataset: str | None = None

    def describe(self) -> str:
        if self.files:
            return ", ".join(str(f) for f in self.files)
        assert self.hub is not None
        return self.hub.describe()

    def load(self) -> list[Any]:
        """Read the records (see :mod:`alignfreeze.data.records`)."""
        if self.hub is not None:
            from alignfreeze.data.hub import load_hub_records

            return load_hub_records(self.task, self.hub)
        reader = READERS[self.task]
        records: list[Any] = []
        for path in self.files:
            records.extend(reader(path))
        return records


def _readers() -> dict[str, Callable[[Path], list[Any]]]:
    from alignfreeze.data.panx import read_panx
    from alignfreeze.data.squad import read_squad
    from alignfreeze.data.ud import read_conllu
    from alignfreeze.data.xnli import read_xnli

    return {"pos": read_conllu, "ner": read_panx, "nli": read_xnli, "qa": read_squad}


READERS = _readers()


#: The configurations (and their splits) of every hub dataset above, as their cards list
#: them, with where each list was taken from: shipped with the package, read offline.
HUB_CONFIGS_FILE = Path(__file__).with_name("hub_configs.json")


@functools.cache
def _hub_catalog() -> dict[str, Any]:
    return json.loads(HUB_CONFIGS_FILE.read_text(encoding="utf-8"))["datasets"]


def hub_configs(path: str) -> dict[str, tuple[str, ...]]:
    """``{configuration: hub splits}`` of one hub dataset, as ``hub_configs.json`` records them."""
    datasets = _hub_catalog()
    if path not in datasets:
        raise NoSourceError(f"{path} is not listed in {HUB_CONFIGS_FILE.name}, so its configurations are unknown")
    return {name: tuple(splits) for name, splits in datasets[path]["configs"].items()}


def wikiann_config(language: str) -> str:
    """WikiANN's configuration for an ISO code: the code itself, or the card's older name for
    the few languages it files under one (``yue`` is ``zh-yue``, ``sgs`` is ``bat-smg``)."""
    return _hub_catalog()[WIKIANN_HUB]["language_aliases"].get(language, language)


def remote_source(kind: str, language: str, split: str, dataset: str | None = None) -> str | None:
    """Where data that is not under the data root can be had, as a short description
    (``hub:path/config[split]`` or a URL), or None when alignfreeze knows no source
    (:func:`remote_origin` says why)."""
    try:
        return remote_origin(kind, language, split, dataset).describe()
    except NoSourceError:
        return None


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
    config = hub.name if hub.name is not None else hub.data_dir
    splits = _hub_catalog()[hub.path]["configs"][config]
    count = splits.get(hub.split) if isinstance(splits, dict) else None
    return count if isinstance(count, int) else None


def remote_origin(kind: str, language: str, split: str, dataset: str | None = None) -> HubSource | UrlSource:
    """The source of one data set of the catalog that is not under the data root: a hub
    dataset (its configuration and split checked offline against ``hub_configs.json``) or a
    URL. The one place that decides it: ``fetch`` and its dry run, the grid's data listing
    and a run's hub fallback all ask it, so they agree.

    Raises :class:`NoSourceError` (an AlignfreezeError) saying why there is none.

    Example::

        remote_origin("ner", "uk", "test").describe()   # 'hub:unimelb-nlp/wikiann/uk[test]'
        remote_origin("pos", "ca", "test")              # NoSourceError: no udpos.Catalan
    """
    split = _SPLIT_ALIASES.get(split, split)
    if kind == "parallel":
        if dataset != "opus100":
            raise NoSourceError(
                f"no download source for parallel dataset {dataset or '(any)'!r}: only opus100 is fetched"
            )
        return _checked(opus100_source(language, split))
    if kind == "dictionary":
        if split != "full" or dataset not in (None, "muse"):
            raise NoSourceError("only full MUSE dictionaries are fetched")
        return UrlSource(MUSE_URL.format(pair=language))
    if kind == "gold_align":
        raise NoSourceError("gold word alignments have no download source")
    if kind not in TASK_DATA:
        raise NoSourceError(f"no download source for {kind!r} data")
    try:
        dataset = _reference_dataset(kind, language, dataset)
    except AlignfreezeError as exc:
        raise NoSourceError(str(exc)) from None
    hub_split = _hub_split(split)
    if kind == "pos" and dataset in (None, "xtreme"):
        hint = "; name a UD treebank as dataset"
        if language not in LANGUAGE_NAMES:
            raise NoSourceError(f"{XTREME_HUB} has no udpos configuration for {language!r}{hint}")
        return _checked(HubSource(XTREME_HUB, f"udpos.{LANGUAGE_NAMES[language]}", hub_split), hint)
    if kind == "pos":  # one treebank: the UD parquet conversion, a folder per treebank
        return _checked(HubSource(UD_HUB[0], None, hub_split, revision=UD_HUB[1], data_dir=f"{language}_{dataset}"))
    # PAN-X is WikiANN (Rahimi et al.'s splits): a local PAN-X file and WikiANN are the same data.
    if kind == "ner" and dataset in (None, "panx", "xtreme"):
        return _checked(HubSource(WIKIANN_HUB, wikiann_config(language), hub_split))
    if kind == "nli" and dataset in (None, "xnli"):
        return _checked(HubSource(XNLI_HUB, language, hub_split))
    if kind == "qa" and dataset == "squad":
        if language != "en":
            raise NoSourceError("SQuAD is English only")
        squad_split = "validation" if split in ("dev", "test") else split
        return _checked(HubSource(SQUAD_HUB[0], SQUAD_HUB[1], squad_split))
    if kind == "qa" and dataset in (None, "xquad"):
        if split != "test":
            raise NoSourceError("XQuAD has one split, test (the hub's validation)")
        return _checked(HubSource(XQUAD_HUB, f"xquad.{language}", "validation"))
    raise NoSourceError(f"no download source for {kind} dataset {dataset!r}")


def _checked(hub: HubSource, hint: str = "") -> HubSource:
    """``hub`` when its dataset card lists its configuration and split, else NoSourceError."""
    configs = hub_configs(hub.path)
    config = hub.name if hub.name is not None else hub.data_dir
    if config not in configs:
        family = config.split(".")[0] + "." if "." in config else ""  # udpos.*, xquad.*: count those alike
        listed = sum(name.startswith(family) for name in configs)
        raise NoSourceError(
            f"{hub.path} has no configuration {config!r} (its card lists {listed} "
            f"{family + '* ' if family else ''}configurations, see {HUB_CONFIGS_FILE.name}){hint}"
        )
    if hub.split not in configs[config]:
        raise NoSourceError(f"{hub.path} {config} has no split {hub.split!r} (it has: {', '.join(configs[config])})")
    return hub


def _hub_split(split: str) -> str:
    """Our split name as the hub's datasets name it (``dev`` is ``validation``)."""
    return {"dev": "validation"}.get(split, split)


def opus100_source(pair: str, split: str) -> HubSource:
    """The OPUS-100 configuration of a language pair (either order) and split (not checked:
    :func:`remote_origin` checks it)."""
    return HubSource(OPUS100_HUB, "-".join(sorted(pair.split("-"))), _hub_split(split))


def _reference_dataset(task: str, language: str, dataset: str | None) -> str | None:
    """``dataset: reference`` for pos: the reference code's treebank for ``language``."""
    if task != "pos" or dataset != "reference":
        return dataset
    from alignfreeze.data.ud import REFERENCE_TREEBANKS

    if language not in REFERENCE_TREEBANKS:
        raise AlignfreezeError(
            f"the reference code has no UD treebank for {language!r} "
            f"(it has: {', '.join(sorted(REFERENCE_TREEBANKS))}); name a treebank as dataset"
        )
    return REFERENCE_TREEBANKS[language]


@dataclass
class Entry:
    kind: str
    dataset: str
    language: str  # "en" for tasks, "en-fr" for pairs
    split: str
    files: list[Path]


class DataCatalog:
    """The index of the data files under a data root (``$ALIGNFREEZE_DATA``, else
    ``../shared/data``): which task, language, dataset and split each file holds, found by
    its layout (see the module docstring). ``resolve`` finds one data set, locally or on the
    Hugging Face hub when allowed; nothing is downloaded unless a run needs it.

    Example::

        catalog = af.DataCatalog("../shared/data")
        catalog.resolve("pos", "fr", "test").files
        catalog.inventory()["parallel"]      # language pair -> ["un:dev", ...]
    """

    def __init__(self, root: str | Path | None = None):
        self.root = default_data_root(root)
        self._entries: list[Entry] | None = None

    # ---------------------------------------------------------------- inventory
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = self._scan()
        return self._entries

    def _scan(self) -> list[Entry]:
        entries: list[Entry] = []
        if not self.root.is_dir():
            return entries
        parallel: dict[tuple[str, str], dict[str, Path]] = defaultdict(dict)  # (dataset, split) -> lang -> file
        tatoeba: dict[str, dict[str, Path]] = defaultdict(dict)
        opus: dict[tuple[str, str], dict[str, Path]] = defaultdict(dict)
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root).as_posix()
            for layout in LAYOUTS:
                g = layout.match(rel)
                if g is None:
                    continue
                if layout.kind == "parallel" and layout.dataset == "tatoeba":
                    tatoeba[to_iso639_1(g["pair"])][g["lang"]] = path
                elif layout.kind == "parallel" and layout.dataset == "opus100":
                    opus[(f"{g['src']}-{g['tgt']}", g["split"])][g["lang"]] = path
                elif layout.kind == "parallel":
                    parallel[(g["dataset"], g["split"])][g["lang"]] = path
                elif layout.kind == "dictionary":
                    lang = f"{to_iso639_1(g['src'])}-{to_iso639_1(g['tgt'])}"
                    entries.append(Entry("dictionary", g["dataset"], lang, g.get("split") or "full", [path]))
                elif layout.kind == "gold_align":
                    gold = path.with_suffix(".gold")
                    files = [path, gold] if gold.is_file() else [path]
                    lang = f"{g['dataset']}-{g['tgt']}"
                    entries.append(Entry("gold_align", "gold", lang, g["split"], files))
                else:
                    entries.append(Entry(layout.kind, g["dataset"], g["lang"], g["split"], [path]))
                break
        for (dataset, split), by_lang in parallel.items():
            if "en" in by_lang:
                for lang, path in sorted(by_lang.items()):
                    if lang != "en":
                        entries.append(Entry("parallel", dataset, f"en-{lang}", split, [by_lang["en"], path]))
        for (pair, split), files in sorted(opus.items()):
            src, tgt = pair.split("-")
            if src in files and tgt in files:
                # OPUS-100 names a pair with its codes sorted (opus.ar-en-train.*): it serves
                # en-ar as well, with the sides swapped.
                entries.append(Entry("parallel", "opus100", pair, split, [files[src], files[tgt]]))
                entries.append(Entry("parallel", "opus100", f"{tgt}-{src}", split, [files[tgt], files[src]]))
        for lang, files in sorted(tatoeba.items()):
            if "en" in files and lang in files:
                entries.append(Entry("parallel", "tatoeba", f"en-{lang}", "test", [files["en"], files[lang]]))
        return entries

    def inventory(self) -> dict[str, dict[str, list[str]]]:
        """``{kind: {language: ["dataset:split", ...]}}`` for everything found."""
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for e in self.entries():
            out[e.kind][e.language].append(f"{e.dataset}:{e.split}")
        return {k: {lang: sorted(v) for lang, v in sorted(d.items())} for k, d in out.items()}

    # ---------------------------------------------------------------- resolve
    def resolve(
        self,
        task: str,
        language: str,
        split: str,
        dataset: str | None = None,
        allow_hub: bool = True,
    ) -> DataSource:
        """Files for ``task`` (or resource) in ``language`` and ``split``.

        ``dataset`` narrows the match: a UD treebank (``ewt``, ``pud``), ``xquad``,
        ``tydiqa``, ``mlqa``, ``un``, ``tatoeba``... With several matches (several UD
        treebanks), all are returned and read one after another, as XTREME concatenates
        treebanks. Without a local match, a hub dataset is returned when ``allow_hub``.
        """
        kinds = TASK_DATA + RESOURCES
        if task not in kinds:
            raise AlignfreezeError(f"unknown task {task!r} (allowed: {', '.join(kinds)})")
        split = _SPLIT_ALIASES.get(split, split)
        dataset = _reference_dataset(task, language, dataset)
        matches = [
            e
            for e in self.entries()
            if e.kind == task
            and e.language == language
            and e.split == split
            and (dataset is None or e.dataset == dataset)
        ]
        if matches:
            files = [f for e in matches for f in e.files]
            return DataSource(task, language, split, files, dataset=dataset or matches[0].dataset)
        no_hub = ""
        if allow_hub and task in TASK_DATA:  # resources are fetched, never read from the hub by a run
            try:
                hub = remote_origin(task, language, split, dataset)
                assert isinstance(hub, HubSource)
                return DataSource(task, language, split, hub=hub, dataset=dataset)
            except NoSourceError as exc:
                no_hub = f"; no hub source: {exc}"
        wanted = [
            str(self.root / layout.hint.format(lang=language, split=split, dataset=dataset or "*"))
            for layout in LAYOUTS
            if layout.kind == task
        ]
        what = f"{task} data for language {language!r}, split {split!r}" + (f", dataset {dataset!r}" if dataset else "")
        raise AlignfreezeError(f"no {what} under {self.root} (looked for files matching {' or '.join(wanted)}){no_hub}")

    def parallel_pairs(self, pair: str, split: str, dataset: str | None = None) -> tuple[list, str]:
        """The sentence pairs of one parallel corpus and the dataset they came from.

        Without ``dataset``, the first corpus found for ``pair`` and ``split`` is used (in
        catalog order), never several concatenated: their sides would not line up."""
        from alignfreeze.data.parallel import read_parallel

        files, chosen = self._parallel_files(pair, split, dataset)
        return read_parallel(*files), chosen

    def parallel_file(self, pair: str, split: str, dataset: str | None = None):
        """``(ParallelFile, dataset)``: the corpus :meth:`parallel_pairs` reads, opened for
        random access instead of read whole (realignment draws from it lazily)."""
        from alignfreeze.data.parallel import ParallelFile

        files, chosen = self._parallel_files(pair, split, dataset)
        return ParallelFile(*files), chosen

    def _parallel_files(self, pair: str, split: str, dataset: str | None) -> tuple[tuple, str]:
        source = self.resolve("parallel", pair, split, dataset=dataset, allow_hub=False)
        chosen = source.dataset
        entry = next(
            e
            for e in self.entries()
            if e.kind == "parallel"
            and e.language == pair
            and e.split == _SPLIT_ALIASES.get(split, split)
            and e.dataset == chosen
        )
        return tuple(entry.files), chosen
