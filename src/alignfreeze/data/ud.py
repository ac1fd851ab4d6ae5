"""CoNLL-U (Universal Dependencies): words and UPOS tags.

The words are the syntactic words that carry UPOS. Multiword-token ranges (``1-2 du``
over ``1 de``, ``2 le``) are not words: the readers keep them beside the words, in
:attr:`UdSentence.multiword`, so that ``tokenization.multiword_tokens`` can choose
(:func:`with_multiword_tokens`): ``drop`` (ours) reads the words only; ``keep_as_label``
(the authors') puts each range's surface form just before its words, tagged ``_``, as the
``datasets`` library's ``universal_dependencies`` loader gives it to the AlignFreeze
reference code. Empty nodes (``1.1``) are skipped everywhere: they are no surface token.

Column checks are ours, because the ``conllu`` package accepts short rows silently and
reports no line numbers; its ID patterns are reused so that what counts as a range or an
empty node is the package's definition.

The same sentences from the hub (:func:`sentences_from_ud_rows`): the parquet conversion of
the ``universal_dependencies`` loader holds one row per sentence with every line of it, in
file order -- the loader lists ``[token["form"] for token in sent]`` of ``conllu``'s parse,
which keeps ranges and empty nodes (``datasets/universal_dependencies/universal_dependencies.py``,
``_generate_examples``). There a range is a token tagged ``_`` whose ``head`` and ``deps`` are
``None``, and an empty node a token with no ``head`` but ``deps``: both are read as the
CoNLL-U reader reads them. A range's extent is not in the rows; it is recovered by lining
the tokens up with the sentence's ``text`` (:func:`multiword_extents`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from conllu.parser import ID_DOT_ID, ID_RANGE, ID_SINGLE

from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import AlignfreezeError, DataFormatError

#: The one UD treebank per language that the AlignFreeze reference code loads (``udpos``
#: task, ``multilingual_eval/datasets/xtreme_udpos.py`` lines 20-56), where XTREME's
#: ``udpos`` concatenates every treebank of a language. ``dataset: reference`` picks these.
REFERENCE_TREEBANKS = {
    "en": "ewt",
    "af": "afribooms",
    "ar": "padt",
    "bg": "btb",
    "ca": "ancora",
    "cs": "pdt",
    "da": "ddt",
    "de": "gsd",
    "el": "gdt",
    "es": "gsd",
    "fa": "perdt",
    "fi": "pud",
    "fr": "gsd",
    "he": "htb",
    "hi": "hdtb",
    "hu": "szeged",
    "it": "isdt",
    "ja": "gsd",
    "ko": "gsd",
    "lv": "lvtb",
    "lt": "alksnis",
    "no": "bokmaal",
    "pl": "pdb",
    "pt": "gsd",
    "ro": "rrt",
    "ru": "gsd",
    "sk": "snk",
    "sl": "ssj",
    "sv": "pud",
    "ta": "ttb",
    "th": "pud",
    "tr": "pud",
    "uk": "iu",
    "vi": "vtb",
    "zh": "gsd",
}

UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)

#: The tag of a multiword token's surface form under ``multiword_tokens: keep_as_label``:
#: the ``_`` of its UPOS column, the 18th label of the ``universal_dependencies`` loader.
MULTIWORD_LABEL = "_"


@dataclass(slots=True, frozen=True)
class MultiwordToken:
    """A multiword token over ``words[start:stop]``: its surface ``form``. ``guessed``: its
    extent could not be read (a hub row without a ``text`` that lines up), so ``stop`` is a
    guess of two words; its place, before ``words[start]``, is always known."""

    start: int
    stop: int
    form: str
    guessed: bool = False


@dataclass(slots=True)
class UdSentence(TaggedSentence):
    """A CoNLL-U sentence: its syntactic words and UPOS tags, and its multiword tokens."""

    multiword: tuple[MultiwordToken, ...] = ()


def with_multiword_tokens(sentence: TaggedSentence) -> TaggedSentence:
    """``sentence`` with each multiword token's form inserted before its first word, tagged
    ``_`` (``multiword_tokens: keep_as_label``): ``du de le chat`` / ``_ ADP DET NOUN``. A
    sentence without multiword tokens is returned as it is."""
    multiword = getattr(sentence, "multiword", ())
    if not multiword:
        return sentence
    before: dict[int, list[str]] = {}
    for token in multiword:
        before.setdefault(token.start, []).append(token.form)
    words: list[str] = []
    tags: list[str] = []
    for k, (word, tag) in enumerate(zip(sentence.words, sentence.tags)):
        for form in before.get(k, ()):
            words.append(form)
            tags.append(MULTIWORD_LABEL)
        words.append(word)
        tags.append(tag)
    return TaggedSentence(words, tags, sentence.sent_id)


def read_conllu(path: str | Path) -> list[UdSentence]:
    sentences: list[UdSentence] = []
    words: list[str] = []
    tags: list[str] = []
    ids: dict[int, int] = {}  # word ID -> position in words
    ranges: list[tuple[int, int, str, int]] = []  # first ID, last ID, form, line
    sent_id: str | None = None
    start_line = 1

    def flush() -> None:
        nonlocal words, tags, ids, ranges, sent_id
        if words:
            multiword = []
            for first, last, form, at in ranges:
                if first not in ids or last not in ids:
                    raise DataFormatError(path, at, f"multiword token {first}-{last} covers words the sentence lacks")
                multiword.append(MultiwordToken(ids[first], ids[last] + 1, form))
            sentences.append(UdSentence(words, tags, sent_id, tuple(multiword)))
        elif sent_id is not None:
            raise DataFormatError(path, start_line, f"sentence {sent_id} has no word lines")
        words, tags, ids, ranges, sent_id = [], [], {}, [], None

    for line_no, line in numbered_lines(path):
        if not line.strip():
            flush()
            start_line = line_no + 1
            continue
        if line.startswith("#"):
            if line.startswith("# sent_id"):
                sent_id = line.split("=", 1)[-1].strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataFormatError(path, line_no, f"expected 10 tab-separated columns, found {len(cols)}")
        token_id = cols[0]
        if ID_DOT_ID.fullmatch(token_id):
            continue
        if ID_RANGE.fullmatch(token_id):
            first, last = (int(part) for part in token_id.split("-"))
            if last <= first:
                raise DataFormatError(path, line_no, f"multiword token {token_id!r} spans fewer than two words")
            ranges.append((first, last, cols[1], line_no))
            continue
        if not ID_SINGLE.fullmatch(token_id):
            raise DataFormatError(path, line_no, f"bad token ID {token_id!r}")
        upos = cols[3]
        if upos not in UPOS_TAGS:
            raise DataFormatError(path, line_no, f"unknown UPOS tag {upos!r} (allowed: {', '.join(UPOS_TAGS)})")
        ids[int(token_id)] = len(words)
        words.append(cols[1])
        tags.append(upos)
    flush()
    if not sentences:
        raise DataFormatError(path, None, "no sentences found")
    return sentences


def conllu_lines(sentence: TaggedSentence, clean: Callable[[str], str] = lambda form: form) -> list[str]:
    """The word lines of ``sentence`` in CoNLL-U (FORM and UPOS, the other columns ``_``),
    each multiword token's range line before its first word (``SpanGuessed=Yes`` in MISC when
    its extent is a guess). ``clean`` makes a form fit a column."""
    before: dict[int, list[MultiwordToken]] = {}
    for token in getattr(sentence, "multiword", ()):
        before.setdefault(token.start, []).append(token)
    lines = []
    for k, (word, tag) in enumerate(zip(sentence.words, sentence.tags)):
        for token in before.get(k, ()):
            misc = "SpanGuessed=Yes" if token.guessed else "_"
            lines.append(f"{token.start + 1}-{token.stop}\t{clean(token.form)}\t_\t_\t_\t_\t_\t_\t_\t{misc}")
        lines.append(f"{k + 1}\t{clean(word)}\t_\t{tag}\t_\t_\t_\t_\t_\t_")
    return lines


# ------------------------------------------------------------------ the hub's rows
def _consume(text: str, at: int, form: str) -> int | None:
    """Where ``text`` goes on after ``form``, read at ``at`` past any whitespace; None when
    ``form`` is not there."""
    while at < len(text) and text[at].isspace():
        at += 1
    return at + len(form) if text.startswith(form, at) else None


def multiword_extents(text: str, tokens: Sequence[tuple[str, bool]], budget: int = 10_000) -> list[int] | None:
    """How many words each multiword token covers, in order, recovered from the sentence's
    ``text``; ``tokens`` are ``(form, is_multiword)`` in file order, empty nodes left out.

    A sentence's text spells each multiword token's form and each word outside one, never
    the words inside one: the extents (two words or more each) are those under which the
    forms spell the whole text, the shortest first where several do. None when none do (a
    text that differs from its forms) or after ``budget`` tries."""
    stack: list[tuple[int, int | None, tuple[int, ...]]] = [(0, 0, ())]
    while stack and budget > 0:
        budget -= 1
        i, at, chosen = stack.pop()
        while at is not None and i < len(tokens) and not tokens[i][1]:
            at = _consume(text, at, tokens[i][0])
            i += 1
        if at is None:
            continue
        if i == len(tokens):
            if not text[at:].strip():
                return list(chosen)
            continue
        after = _consume(text, at, tokens[i][0])
        if after is None:
            continue
        words = 0
        while i + 1 + words < len(tokens) and not tokens[i + 1 + words][1]:
            words += 1
        for n in range(words, 1, -1):  # the longest pushed first, so the shortest is tried first
            stack.append((i + 1 + n, after, (*chosen, n)))
    return None


def _column(row: dict, name: str, n: int) -> list[str] | None:
    values = row.get(name)
    return [str(v) for v in values] if values is not None and len(values) == n else None


def sentences_from_ud_rows(rows, names: list[str] | None) -> list[UdSentence]:
    """The sentences of the ``universal_dependencies`` loader's rows (its parquet conversion):
    ``tokens`` and ``upos`` (label ids, read by ``names``; the tags themselves when ``names``
    is None), and where present ``head`` and ``deps`` (an empty node has no head but has
    dependencies: it is skipped), ``text`` (a range's extent) and ``idx`` (the sentence id).
    A token tagged ``_`` is a multiword token."""
    sentences = []
    for row in rows:
        forms = list(row["tokens"])
        tags = [names[t] if names is not None else str(t) for t in row["upos"]]
        if names is None and any(t.isdigit() for t in tags):
            raise AlignfreezeError("column 'upos' holds label ids without their names (no ClassLabel feature)")
        heads, deps = _column(row, "head", len(forms)), _column(row, "deps", len(forms))
        kept: list[tuple[str, str, bool]] = []  # form, tag, is a multiword token
        for k, (form, tag) in enumerate(zip(forms, tags)):
            if heads is not None and deps is not None and heads[k] == "None" and deps[k] != "None":
                continue  # an empty node
            kept.append((form, tag, tag == MULTIWORD_LABEL))
        words = [form for form, _, is_range in kept if not is_range]
        word_tags = [tag for _, tag, is_range in kept if not is_range]
        extents = None
        if len(words) < len(kept) and row.get("text"):
            extents = multiword_extents(row["text"], [(form, is_range) for form, _, is_range in kept])
        multiword: list[MultiwordToken] = []
        before, ranges = 0, 0  # words and multiword tokens so far
        for k, (form, _, is_range) in enumerate(kept):
            if not is_range:
                before += 1
                continue
            following = 0
            while k + 1 + following < len(kept) and not kept[k + 1 + following][2]:
                following += 1
            if extents is not None:
                multiword.append(MultiwordToken(before, before + extents[ranges], form))
            elif following:
                multiword.append(MultiwordToken(before, before + min(2, following), form, guessed=True))
            ranges += 1
        if words:
            idx = row.get("idx")
            sentences.append(UdSentence(words, word_tags, str(idx) if idx else None, tuple(multiword)))
    return sentences
