"""Find a data set -- a task's data or a resource -- as files under a data root, or on the hub.

The data root is ``--data-dir``, else ``$ALIGNFREEZE_DATA``, else ``../shared/data``
beside the repository. Files are recognised by the path patterns of the registered data
sources (:data:`alignfreeze.data.sources.DATA_SOURCES`, each source's ``layouts``), so any
language and any treebank that follows a pattern is found; nothing is tied to the
languages bundled in ``shared/``. Each pattern is relative to the root and may sit in any
subfolder.

When no local file matches, :meth:`DataCatalog.find` falls back to the Hugging Face
dataset the papers used, in its parquet form (the script loaders stopped working in
``datasets`` >= 4), as the source's registry entry names it (XTREME's udpos or one UD
treebank for PoS, WikiANN for NER, XNLI, XQuAD, and SQuAD for English QA training with
``dataset: squad``). Which source a data set has, if any, is decided in one place,
:func:`~alignfreeze.data.sources.remote_origin`, from the registry; it checks every hub
configuration and split offline against ``hub_configs.json`` (the lists of the dataset
cards): ``fetch``, its dry run, the grid's data listing and a run reading from the hub all
ask it. Parallel text, dictionaries and gold alignments have no hub fallback in a run;
``fetch`` gets OPUS-100 and MUSE files into the root, where the catalog finds them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from alignfreeze.data.mixtures import is_mixture, mixture_parts
from alignfreeze.data.sources import (
    DATA_SOURCES,
    HUB_CONFIGS_FILE,
    RESOURCES,
    DatasetSource,
    HubSource,
    Layout,
    NoSourceError,
    UrlSource,
    canonical_split,
    hub_configs,
    hub_split_size,
    reference_dataset,
    remote_origin,
    remote_source,
)
from alignfreeze.errors import AlignfreezeError
from alignfreeze.paths import default_data_root
from alignfreeze.schema import TaskName

#: What the catalog finds: task data (by task name) and resources.
TASK_DATA = tuple(task.value for task in TaskName)

__all__ = [
    "HUB_CONFIGS_FILE",
    "RESOURCES",
    "TASK_DATA",
    "DataCatalog",
    "DataSource",
    "Entry",
    "HubSource",
    "NoSourceError",
    "UrlSource",
    "hub_configs",
    "hub_split_size",
    "remote_origin",
    "remote_source",
]


def layouts() -> list[tuple[DatasetSource, Layout]]:
    """Every file layout of the registered sources (:data:`~alignfreeze.data.sources.DATA_SOURCES`),
    in registry order: a file is the first source's whose pattern it matches."""
    return [(source, layout) for source in DATA_SOURCES.values() for layout in source.layouts]


@dataclass
class DataSource:
    """What :meth:`DataCatalog.find` returns: local files, or a hub dataset."""

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
    its layout (see the module docstring). ``find`` finds one data set, locally or on the
    Hugging Face hub when allowed; nothing is downloaded unless a run needs it.

    Example::

        catalog = af.DataCatalog("../shared/data")
        catalog.find("pos", "fr", "test").files
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
        known = layouts()
        # Parallel text comes one file per language: (dataset, split, pair) -> language -> file,
        # where pair is a file name's pair (src-tgt, or tatoeba's other language) or "".
        sides: dict[tuple[str, str, str], dict[str, Path]] = defaultdict(dict)
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root).as_posix()
            for source, layout in known:
                g = layout.match(rel)
                if g is None:
                    continue
                dataset = g.get("dataset", source.name)
                if source.kind == "parallel":
                    pair = f"{g['src']}-{g['tgt']}" if "src" in g else g.get("pair", "")
                    sides[(dataset, g["split"], pair)][g["lang"]] = path
                elif source.kind == "dictionary":
                    lang = f"{g['src']}-{g['tgt']}"
                    entries.append(Entry("dictionary", dataset, lang, g.get("split") or "full", [path]))
                elif source.kind == "gold_align":
                    gold = path.with_suffix(".gold")
                    files = [path, gold] if gold.is_file() else [path]
                    entries.append(Entry("gold_align", dataset, f"{g['src']}-{g['tgt']}", g["split"], files))
                else:
                    entries.append(Entry(source.kind, dataset, g["lang"], g["split"], [path]))
                break
        # In the order catalogs have always listed them (the first is what a run without a
        # dataset reads): corpora of one file per language, then those named by pair.
        groups = [k for k in sides if not k[2]] + sorted(k for k in sides if "-" in k[2])
        groups += sorted(k for k in sides if k[2] and "-" not in k[2])
        for dataset, split, pair in groups:
            files = sides[(dataset, split, pair)]
            if "-" in pair:
                # A file name's pair (OPUS-100's sorted codes, opus.ar-en-train.*) serves both
                # directions, with the sides swapped.
                src, tgt = pair.split("-")
                if src in files and tgt in files:
                    entries.append(Entry("parallel", dataset, pair, split, [files[src], files[tgt]]))
                    entries.append(Entry("parallel", dataset, f"{tgt}-{src}", split, [files[tgt], files[src]]))
            elif "en" in files:  # each language's file pairs with English's
                for lang, path in sorted(files.items()):
                    if lang != "en" and (not pair or lang == pair):
                        entries.append(Entry("parallel", dataset, f"en-{lang}", split, [files["en"], path]))
        return entries

    def inventory(self) -> dict[str, dict[str, list[str]]]:
        """``{kind: {language: ["dataset:split", ...]}}`` for everything found."""
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for e in self.entries():
            out[e.kind][e.language].append(f"{e.dataset}:{e.split}")
        return {k: {lang: sorted(v) for lang, v in sorted(d.items())} for k, d in out.items()}

    # ---------------------------------------------------------------- find
    def find(
        self,
        kind: str,
        language: str,
        split: str,
        dataset: str | None = None,
        allow_hub: bool = True,
    ) -> DataSource:
        """The data set of one kind -- a task's data (pos, ner, nli, qa) or a resource
        (parallel, dictionary, gold_align) -- in ``language`` (a pair for resources) and
        ``split``: its files under the root, else its hub dataset.

        ``dataset`` narrows the match: a UD treebank (``ewt``, ``pud``), ``xquad``,
        ``tydiqa``, ``mlqa``, ``un``, ``tatoeba``... With several matches (several UD
        treebanks), all are returned and read one after another, as XTREME concatenates
        treebanks. Without a local match, a hub dataset is returned when ``allow_hub``.
        """
        kinds = TASK_DATA + RESOURCES
        if kind not in kinds:
            raise AlignfreezeError(f"unknown data kind {kind!r} (allowed: {', '.join(kinds)})")
        split = canonical_split(split)
        dataset = reference_dataset(kind, language, dataset)
        if kind == "parallel" and is_mixture(dataset):  # each corpus of a mixture, found on its own
            parts = [self.find(kind, language, split, part, allow_hub) for part, _ in mixture_parts(language, dataset)]
            if len(parts) == 1:
                return parts[0]
            return DataSource(kind, language, split, [f for part in parts for f in part.files], dataset=dataset)
        matches = [
            e
            for e in self.entries()
            if e.kind == kind
            and e.language == language
            and e.split == split
            and (dataset is None or e.dataset == dataset)
        ]
        if matches:
            files = [f for e in matches for f in e.files]
            return DataSource(kind, language, split, files, dataset=dataset or matches[0].dataset)
        no_hub = ""
        if allow_hub and kind in TASK_DATA:  # resources are fetched, never read from the hub by a run
            try:
                hub = remote_origin(kind, language, split, dataset)
                assert isinstance(hub, HubSource)
                return DataSource(kind, language, split, hub=hub, dataset=dataset)
            except NoSourceError as exc:
                no_hub = f"; no hub source: {exc}"
        wanted = [
            str(self.root / layout.hint.format(lang=language, split=split, dataset=dataset or "*"))
            for source, layout in layouts()
            if source.kind == kind
        ]
        what = f"{kind} data for language {language!r}, split {split!r}" + (f", dataset {dataset!r}" if dataset else "")
        raise AlignfreezeError(f"no {what} under {self.root} (looked for files matching {' or '.join(wanted)}){no_hub}")

    def parallel_pairs(self, pair: str, split: str, dataset: str | None = None) -> tuple[list, str]:
        """The sentence pairs of one parallel corpus and the dataset they came from.

        Without ``dataset``, the first corpus found for ``pair`` and ``split`` is used (in
        catalog order), never several concatenated: their sides would not line up."""
        from alignfreeze.data.parallel import read_parallel

        if len(mixture_parts(pair, dataset)) > 1:
            mixed, chosen = self.parallel_file(pair, split, dataset)
            return mixed.lines(), chosen
        files, chosen = self._parallel_files(pair, split, dataset)
        return read_parallel(*files), chosen

    def parallel_file(self, pair: str, split: str, dataset: str | None = None):
        """``(ParallelFile, dataset)``: the corpus :meth:`parallel_pairs` reads, opened for
        random access instead of read whole (realignment draws from it lazily). A weighted
        mixture (``dataset: {nllb: 0.5, opus100: 0.5}``) opens as one
        :class:`~alignfreeze.data.mixtures.MixedParallelFile`; a named mixture
        (``mix_opus100_nllb``) as the corpus it names for ``pair``."""
        from alignfreeze.data.parallel import ParallelFile

        parts = mixture_parts(pair, dataset)
        if len(parts) > 1:  # a weighted mixture (alignfreeze.data.mixtures)
            from alignfreeze.data.mixtures import MixedParallelFile

            opened = [(ParallelFile(*self._parallel_files(pair, split, name)[0]), weight) for name, weight in parts]
            return MixedParallelFile(opened, names=[str(name) for name, _ in parts]), dataset
        files, chosen = self._parallel_files(pair, split, parts[0][0])
        return ParallelFile(*files), chosen

    def _parallel_files(self, pair: str, split: str, dataset: str | None) -> tuple[tuple, str]:
        source = self.find("parallel", pair, split, dataset=dataset, allow_hub=False)
        chosen = source.dataset
        entry = next(
            e
            for e in self.entries()
            if e.kind == "parallel" and e.language == pair and e.split == canonical_split(split) and e.dataset == chosen
        )
        return tuple(entry.files), chosen
