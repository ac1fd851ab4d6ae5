"""Bilingual-dictionary aligner (MUSE), with the matching rules of the AlignFreeze reference.

For each sentence pair, a link ``(i, j)`` is kept only when all of these hold:

* the source word ``src[i]`` has exactly one dictionary translation present in the
  target sentence (matching is case-sensitive);
* that target word occurs exactly once in the target sentence (its position ``j``);
* exactly one source position maps to that target word (one-to-one). Which source
  positions count is ``unique_source``: ``"linked"`` counts the positions that passed the
  two rules above; ``"any_translation"`` counts every source position whose word the
  dictionary translates to the target word, as the reference does
  (``multilingual_eval/datasets/realignment_dataset.py`` lines 187-196), so a link is also
  refused when another source word *could* translate to the same target word.

Dictionary entries whose source and target are the same string are dropped: they would
link numbers, names and punctuation, which the references exclude. ``reverse_entries``
adds entries read from a dictionary of the other direction (``tgt src`` lines): the
reference reads ``<tgt>-<src>.txt`` that way (``multilingual_eval/data.py`` lines
283-310).

Text in scripts without spaces is split one character per word
(:func:`alignfreeze.data.split_words`), while dictionaries hold multi-character words
(94% of MUSE en-zh targets). A dictionary word therefore also matches a run of
consecutive single-character words that spells it (``委员会`` = ``委``, ``员``, ``会``), and
the link goes to the run's first character -- the same "first piece" convention as the
first subword. "Occurs exactly once" and "one-to-one" are then judged on those runs.
Runs are only formed from single characters of no-space scripts, so ``New York`` never
matches ``new`` + ``york``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable, Literal, Optional, Sequence

from pydantic import Field

from alignfreeze.align.base import AlignerSettings, Links, Progress, WordAligner, default_catalog
from alignfreeze.data.records import DictionaryEntry
from alignfreeze.data.words import NO_SPACE_CHAR
from alignfreeze.errors import AlignfreezeError

MAX_RUN = 8  # longest multi-character dictionary word matched as a run of characters


def occurrences(words: list[str], vocabulary: set[str] | dict) -> dict[str, list[int]]:
    """Start positions of every dictionary word in a sentence: single words, plus runs of
    single no-space-script characters that spell a dictionary word."""
    found: dict[str, list[int]] = defaultdict(list)
    is_char = [len(w) == 1 and bool(NO_SPACE_CHAR.match(w)) for w in words]
    for start, word in enumerate(words):
        if word in vocabulary:
            found[word].append(start)
        if not is_char[start]:
            continue
        run = word
        for end in range(start + 1, min(start + MAX_RUN, len(words))):
            if not is_char[end]:
                break
            run += words[end]
            if run in vocabulary:
                found[run].append(start)
    return found


UNIQUE_SOURCE = ("linked", "any_translation")


class DictionaryAligner(WordAligner):
    name = "dictionary"

    def __init__(
        self,
        entries: Iterable[DictionaryEntry] | Callable[[], Iterable[DictionaryEntry]],
        source: str = "",
        unique_source: str = "linked",
        reverse_entries: tuple[Iterable[DictionaryEntry] | Callable[[], Iterable[DictionaryEntry]], str] | None = None,
        fingerprint: str | None = None,
    ):
        """``entries`` (and the first item of ``reverse_entries``) may be a function that
        reads them: with a content ``fingerprint`` of the files, the dictionary is then only
        read when a sentence must be aligned, not when a cached alignment is reused."""
        if unique_source not in UNIQUE_SOURCE:
            raise ValueError(f"unique_source {unique_source!r}: use one of {', '.join(UNIQUE_SOURCE)}")
        self._entries = entries
        self._reverse = reverse_entries
        self.reverse_source = reverse_entries[1] if reverse_entries is not None else ""
        self.source = source
        self.unique_source = unique_source
        self.fingerprint = fingerprint
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._translations: dict[str, set[str]] = defaultdict(set)  # source word -> target words
        self._sources: dict[str, set[str]] = defaultdict(set)  # target word -> source words
        entries = self._entries() if callable(self._entries) else self._entries
        for e in entries:
            if e.src != e.tgt:
                self._translations[e.src].add(e.tgt)
                self._sources[e.tgt].add(e.src)
        if self._reverse is not None:
            reverse = self._reverse[0]() if callable(self._reverse[0]) else self._reverse[0]
            for e in reverse:  # a <tgt>-<src> line: e.src is a target-language word
                if e.src != e.tgt:
                    self._translations[e.tgt].add(e.src)
                    self._sources[e.src].add(e.tgt)
        self._n_entries = sum(len(v) for v in self._translations.values())
        self._target_vocabulary = set(self._sources)
        self._loaded = True

    @property
    def translations(self) -> dict[str, set[str]]:
        self._load()
        return self._translations

    @property
    def sources(self) -> dict[str, set[str]]:
        self._load()
        return self._sources

    @property
    def n_entries(self) -> int:
        self._load()
        return self._n_entries

    @property
    def target_vocabulary(self) -> set[str]:
        self._load()
        return self._target_vocabulary

    def settings(self) -> dict:
        # With a content fingerprint the cache key needs no reading of the dictionary.
        out = {
            "dictionary": self.source,
            **({"sha256": self.fingerprint} if self.fingerprint else {"entries": self.n_entries}),
        }
        if self.unique_source != "linked":  # only when not the default: earlier caches stay valid
            out["unique_source"] = self.unique_source
        if self.reverse_source:
            out["reverse"] = self.reverse_source
        return out

    def align_sentence(self, src: list[str], tgt: list[str]) -> Links:
        in_target = occurrences(tgt, self.target_vocabulary)
        in_source = occurrences(src, self.translations)
        chosen: dict[int, str] = {}
        for word, starts in in_source.items():
            present = [t for t in self.translations[word] if t in in_target]
            if len(present) == 1 and len(in_target[present[0]]) == 1:
                for i in starts:
                    chosen[i] = present[0]
        if self.unique_source == "linked":
            sources_per_target = Counter(chosen.values())
        else:
            sources_per_target = Counter(
                {t: sum(len(in_source[w]) for w in self.sources[t] if w in in_source) for t in set(chosen.values())}
            )
        return sorted((i, in_target[t][0]) for i, t in chosen.items() if sources_per_target[t] == 1)

    def align_words(
        self, src: Sequence[list[str]], tgt: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[Links]:
        out = []
        for n, (s, t) in enumerate(zip(src, tgt), start=1):
            out.append(self.align_sentence(s, t))
            if on_progress and n % 500 == 0:
                on_progress(500)
        if on_progress:
            on_progress(len(out) % 500)
        return out


class DictionaryAlignerConfig(AlignerSettings):
    """Bilingual-dictionary links: a source word is linked to a target word of the sentence
    pair when a MUSE dictionary (Conneau et al., 2018) lists it as a translation, with the
    matching rules of the AlignFreeze reference code (Bakos, Gaschi et al., NAACL 2025;
    ``multilingual_eval/datasets/realignment_dataset.py``). The paper's default aligner.

    Args:
        dictionary: a MUSE file; default: the data catalog's ``<src>-<tgt>`` dictionary.
        unique_source: ``linked`` or ``any_translation`` (the reference's stricter rule).
        reverse_dictionary: ``none``, ``file`` or ``forward_copy`` (the reference's).
        keep_one_to_one, drop_identical: the link filters every aligner shares.

    Example::

        config = af.DictionaryAlignerConfig(unique_source="any_translation")
        corpus = af.align_with(config, sentence_pairs, "en", "fr")
    """

    name: Literal["dictionary"] = "dictionary"
    dictionary: Optional[Path] = Field(
        None, description="a MUSE file; default: the data catalog's <src>-<tgt> dictionary"
    )
    unique_source: Literal["linked", "any_translation"] = Field(
        "linked",
        description="a target word must be the translation of exactly one source position: among the linked ones "
        "('linked'), or among every source word the dictionary translates to it ('any_translation', the reference's "
        "realignment_dataset.py lines 187-196)",
    )
    reverse_dictionary: Literal["none", "file", "forward_copy"] = Field(
        "none",
        description="entries read in the other direction too: 'file' the <tgt>-<src> dictionary; 'forward_copy' the "
        "<src>-<tgt> file read again as if it were <tgt>-<src>, which is what the reference did (its download script "
        "saves en-X.txt under both names)",
    )

    def catalog_files(self, pair: str) -> list[tuple[str, str]]:
        if self.dictionary is not None:
            return []
        src, tgt = pair.split("-")
        return [("dictionary", pair)] + ([("dictionary", f"{tgt}-{src}")] if self.reverse_dictionary == "file" else [])

    def check_files(self) -> None:
        if self.dictionary is not None and not Path(self.dictionary).is_file():
            raise AlignfreezeError(f"dictionary aligner: dictionary file not found: {self.dictionary}")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.dictionary import DictionaryAligner
        from alignfreeze.data import read_muse
        from alignfreeze.fileio import sha256_file

        src, tgt = pair.split("-")
        path = Path(
            self.dictionary or default_catalog(catalog).find("dictionary", pair, "full", allow_hub=False).files[0]
        )
        files = [path]
        reverse = None
        if self.reverse_dictionary == "file":
            reverse_path = default_catalog(catalog).find("dictionary", f"{tgt}-{src}", "full", allow_hub=False).files[0]
            files.append(reverse_path)
            reverse = (lambda: read_muse(reverse_path), reverse_path.name)
        elif self.reverse_dictionary == "forward_copy":
            reverse = (lambda: read_muse(path), f"{path.name} (forward copy)")
        # Read only if a sentence must be aligned: a cached alignment needs just the files' hashes.
        fingerprint = "+".join(sha256_file(f) for f in files)
        return DictionaryAligner(
            lambda: read_muse(path),
            source=path.name,
            unique_source=self.unique_source,
            reverse_entries=reverse,
            fingerprint=fingerprint,
        )
