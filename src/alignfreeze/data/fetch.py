"""Fetch data that is not under the data root into it, in the catalog's layout.

One :class:`FetchTarget` per data set: where it comes from (a hub dataset, read through
``datasets`` in its parquet form, or a URL) and the files it becomes under the root, which
the catalog then finds like any other local file. Both come from the data set's entry in the
source registry (:data:`alignfreeze.data.sources.DATA_SOURCES`: its ``hub``/``url`` and its
``fetched_as``; :func:`~alignfreeze.data.sources.source_table` lists them, e.g. XTREME's
udpos ``google/xtreme`` ``udpos.French`` as ``ud/fr_xtreme-ud-<split>.conllu``), which checks
the configuration and split against the dataset cards' lists (``hub_configs.json``)
offline: a data set whose configuration or split does not exist has no source, and the dry
run says so.

A file is written whole or not at all (atomically); a URL download resumes from its
``.part`` file and is checked against the server's size before it is kept. Every fetched
file is recorded, with its source, size and SHA-256, in ``<root>/.alignfreeze-fetch.json``.

URLs can be served from elsewhere (``url_mirror``, ``$ALIGNFREEZE_URL_MIRROR``): the URL's
host and path are appended to the mirror's address (``http://127.0.0.1:8000/`` +
``dl.fbaipublicfiles.com/arrival/dictionaries/en-fr.txt``), as the tests do.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from alignfreeze.data.sources import (
    RESOURCES,
    HubSource,
    UrlSource,
    canonical_split,
    find_source,
    reference_dataset,
)
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_write_text

URL_MIRROR_ENV = "ALIGNFREEZE_URL_MIRROR"
MANIFEST = ".alignfreeze-fetch.json"


@dataclass
class FetchTarget:
    """One data set to fetch: its source and the files it becomes under the data root
    (relative paths); ``source`` is None when alignfreeze knows none (``reason`` says why)."""

    kind: str  # a task, "parallel" or "dictionary"
    language: str  # "fr" for tasks, "en-fr" for pairs
    split: str
    dataset: str | None
    source: HubSource | UrlSource | None
    files: tuple[str, ...] = ()
    reason: str = ""

    @property
    def what(self) -> str:
        return f"{self.kind} {self.language} {self.dataset or ''}:{self.split}".replace(" :", " ")


def plan_target(kind: str, language: str, split: str, dataset: str | None = None) -> FetchTarget:
    """Where one data set of the catalog can be fetched from and the files it becomes, both
    from its entry in the source registry (:func:`~alignfreeze.data.sources.find_source`,
    the one :func:`~alignfreeze.data.sources.remote_origin` asks); without a source,
    ``reason`` says why."""
    split = canonical_split(split)  # file names say dev, as the catalog reads them
    try:
        entry = find_source(kind, reference_dataset(kind, language, dataset))
        part = reference_dataset(kind, language, dataset) if entry.has_parts else None  # a UD treebank
        source = entry.origin(language, split, part)
    except AlignfreezeError as exc:  # NoSourceError, or no reference treebank for the language
        return FetchTarget(kind, language, split, dataset, None, reason=str(exc))
    if dataset is None and kind in RESOURCES:
        dataset = entry.name  # a dictionary: MUSE, the only one fetched
    return FetchTarget(kind, language, split, dataset, source, entry.files(language, split, part))


# ------------------------------------------------------------------ writers (records -> files)
def _clean(token: str) -> str:
    return " ".join(token.split()) or "_"  # no tab or newline inside a CoNLL-U / TSV field


def conllu_text(sentences) -> str:
    """CoNLL-U with FORM and UPOS, and each multiword token's range line (its extent a guess,
    ``SpanGuessed=Yes``, where the hub's row did not give it: :mod:`alignfreeze.data.ud`)."""
    from alignfreeze.data.ud import conllu_lines

    lines = []
    for k, s in enumerate(sentences):
        lines.append(f"# sent_id = {s.sent_id or k + 1}")
        lines += conllu_lines(s, _clean)
        lines.append("")
    return "\n".join(lines) + "\n"


def panx_text(sentences) -> str:
    return "".join("".join(f"{_clean(w)}\t{t}\n" for w, t in zip(s.words, s.tags)) + "\n" for s in sentences)


def xnli_text(examples) -> str:
    return "premise\thypothesis\tlabel\n" + "".join(
        f"{_clean(e.premise)}\t{_clean(e.hypothesis)}\t{e.label}\n" for e in examples
    )


def squad_text(examples) -> str:
    """SQuAD v1.1 JSON: one paragraph per question (contexts are repeated, offsets kept)."""
    articles: dict[str, list] = {}
    for e in examples:
        answers = [{"text": a.text, "answer_start": a.start} for a in e.answers]
        articles.setdefault(e.title, []).append(
            {"context": e.context, "qas": [{"id": e.id, "question": e.question, "answers": answers}]}
        )
    data = [{"title": title, "paragraphs": paragraphs} for title, paragraphs in articles.items()]
    return json.dumps({"version": "1.1", "data": data}, ensure_ascii=False)


_WRITERS: dict[str, Callable[[list], str]] = {"pos": conllu_text, "ner": panx_text, "nli": xnli_text, "qa": squad_text}


# ------------------------------------------------------------------ fetching
@dataclass
class FetchResult:
    target: FetchTarget
    status: str  # "fetched" or "failed"
    detail: str = ""
    files: list[Path] = field(default_factory=list)


def _record(root: Path, target: FetchTarget, paths: list[Path]) -> None:
    manifest_path = root / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest[path.relative_to(root).as_posix()] = {
            "source": target.source.describe() if target.source else None,
            "bytes": path.stat().st_size,
            "sha256": digest,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def mirrored_url(url: str, url_mirror: str | None = None) -> str:
    """``url`` served from ``url_mirror`` (or ``$ALIGNFREEZE_URL_MIRROR``) when one is set."""
    mirror = url_mirror or os.environ.get(URL_MIRROR_ENV)
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + url.split("://", 1)[-1]


def download(
    url: str, path: Path, on_bytes: Callable[[int, int | None], None] | None = None, timeout: float = 60
) -> Path:
    """Download ``url`` to ``path``: resumed from ``path.part`` when a previous try stopped
    early, checked against the server's size, then moved into place."""
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part is already whole
            response = None
        else:
            raise AlignfreezeError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise AlignfreezeError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    expected = None
    if response is not None:
        with response:
            resumed = response.status == 206
            if not resumed:
                have = 0  # the server ignored the range: start over
            length = response.headers.get("Content-Length")
            expected = have + int(length) if length is not None else None
            with open(part, "ab" if resumed else "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    have += len(chunk)
                    if on_bytes:
                        on_bytes(have, expected)
    size = part.stat().st_size
    if expected is not None and size != expected:
        raise AlignfreezeError(f"{url}: got {size} bytes of {expected} (kept in {part}; fetch again to resume)")
    if size == 0:
        part.unlink()
        raise AlignfreezeError(f"{url}: the server sent an empty file")
    os.replace(part, path)
    return path


def fetch_target(
    target: FetchTarget,
    root: str | Path,
    hub_mirror: str | Path | None = None,
    url_mirror: str | None = None,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> list[Path]:
    """Fetch one target into ``root``; its files, written whole. Raises AlignfreezeError
    naming the source and the reason when it cannot."""
    from alignfreeze.data.hub import load_hub_pairs, load_hub_records

    root = Path(root)
    if target.source is None:
        raise AlignfreezeError(target.reason)
    paths = [root / f for f in target.files]
    if isinstance(target.source, UrlSource) and target.kind == "parallel":
        archive = paths[0].with_name(target.source.url.rsplit("/", 1)[-1])
        download(mirrored_url(target.source.url, url_mirror), archive, on_bytes)
        _split_tsv(archive, target.source.languages, dict(zip(sorted(target.language.split("-")), paths)))
        archive.unlink()
    elif isinstance(target.source, UrlSource):
        download(mirrored_url(target.source.url, url_mirror), paths[0], on_bytes)
        _check_dictionary(paths[0])
    elif target.kind == "parallel":
        a, b = sorted(target.language.split("-"))
        pairs = load_hub_pairs(target.source, a, b, hub_mirror)
        atomic_write_text(paths[0], "".join(_clean(x) + "\n" for x, _ in pairs))
        atomic_write_text(paths[1], "".join(_clean(y) + "\n" for _, y in pairs))
    else:
        records: list[Any] = load_hub_records(target.kind, target.source, hub_mirror)
        if not records:
            raise AlignfreezeError(f"{target.source.describe()} has no records")
        atomic_write_text(paths[0], _WRITERS[target.kind](records))
    _record(root, target, paths)
    return paths


def _split_tsv(archive: Path, languages: tuple[str, ...], paths: dict[str, Path]) -> None:
    """A gzipped TSV of sentence pairs (NLLB's: the sentences in ``languages``, in that order,
    then scores and sources) into one file per language, line i of each the same pair; all
    lines are kept, as the reference keeps them. Both files are written whole or not at all."""
    import gzip

    from alignfreeze.errors import DataFormatError

    parts = {lang: path.with_name(path.name + ".part") for lang, path in paths.items()}
    columns = {lang: languages.index(lang) for lang in paths}
    outs = {lang: open(part, "w", encoding="utf-8") for lang, part in parts.items()}
    try:
        with gzip.open(archive, "rt", encoding="utf-8", newline="\n") as rows:
            for line_no, row in enumerate(rows, start=1):
                fields = row.rstrip("\n").split("\t")
                if len(fields) < len(languages):
                    raise DataFormatError(archive, line_no, f"expected {len(languages)} tab-separated sentences")
                for lang, out in outs.items():
                    out.write(_clean(fields[columns[lang]]) + "\n")
    except (OSError, EOFError) as exc:  # not gzip, or cut short
        raise AlignfreezeError(f"{archive}: not a whole gzipped TSV ({exc})") from None
    finally:
        for out in outs.values():
            out.close()
    for lang, part in parts.items():
        os.replace(part, paths[lang])


def _check_dictionary(path: Path) -> None:
    """A downloaded MUSE file must read as a dictionary (an HTML error page must not)."""
    from alignfreeze.data.muse import read_muse

    try:
        read_muse(path)
    except AlignfreezeError as exc:
        bad = path.with_name(path.name + ".invalid")
        os.replace(path, bad)
        raise AlignfreezeError(f"not a MUSE dictionary (kept as {bad}): {exc}") from None
