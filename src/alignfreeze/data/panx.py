"""PAN-X / WikiANN NER: ``token<TAB>tag`` per line, a blank line between sentences.

XTREME's copy prefixes tokens with the language (``en:Paris``); the prefix is stripped
when it matches ``xx:``. Tags must follow the BIO scheme (``O``, ``B-X``, ``I-X``).

WikiANN's Chinese has one token per character. The AlignFreeze reference code re-segments
it into words in every NER run, with the Stanford segmenter, and cuts each word again where
its characters' tags part (``multilingual_eval/datasets/token_classification.py`` 99-107,
``lang_preprocessing.py`` 22-68): :func:`resegment_chinese` does the same with another
segmenter (``tokenization.zh_ner_segmentation``).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Callable

from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.textfile import numbered_lines
from alignfreeze.errors import AlignfreezeError, DataFormatError

_BIO = re.compile(r"O|[BI]-[A-Za-z][\w.-]*")
_LANG_PREFIX = re.compile(r"^[a-z]{2,3}:(?=.)")


def read_panx(path: str | Path, strip_language_prefix: bool = True) -> list[TaggedSentence]:
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for line_no, line in numbered_lines(path):
        if not line.strip():
            if words:
                sentences.append(TaggedSentence(words, tags))
                words, tags = [], []
            continue
        cols = line.split("\t")
        if len(cols) != 2:
            raise DataFormatError(path, line_no, f"expected 'token<TAB>tag', found {len(cols)} column(s)")
        token, tag = cols[0], cols[1].strip()
        if not _BIO.fullmatch(tag):
            raise DataFormatError(path, line_no, f"tag {tag!r} is not in the BIO scheme (O, B-TYPE, I-TYPE)")
        if strip_language_prefix:
            token = _LANG_PREFIX.sub("", token)
        words.append(token)
        tags.append(tag)
    if words:
        sentences.append(TaggedSentence(words, tags))
    if not sentences:
        raise DataFormatError(path, None, "no sentences found")
    return sentences


# ------------------------------------------------------------------ Chinese re-segmentation
#: What ``tokenization.zh_ner_segmentation`` can name, besides "none".
ZH_SEGMENTERS = ("jieba",)
#: Tokens kept as they are, and at which a sentence is cut before it is segmented: the
#: reference code segments the parts between two "。" apart and puts each "。" back as a word
#: of its own (``multilingual_eval/tokenization/chinese_segmenter.py`` 40-47).
_SENTENCE_END = "。"


def chinese_segmenter(name: str) -> Callable[[str], list[str]]:
    """A function from a run of Chinese text to its words (``jieba``: its precise mode with
    its HMM for unknown words, on the dictionary its wheel ships)."""
    if name not in ZH_SEGMENTERS:
        raise AlignfreezeError(f"unknown Chinese segmenter {name!r} (allowed: {', '.join(ZH_SEGMENTERS)})")
    tokenizer = _jieba()
    return lambda text: tokenizer.lcut(text, HMM=True)


@functools.cache
def _jieba():
    try:
        import jieba
    except ImportError:
        raise AlignfreezeError(
            "zh_ner_segmentation: jieba needs the jieba package: pip install 'alignfreeze[zh]'"
        ) from None
    jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary
    return jieba.Tokenizer()


def _split_by_tags(chars: str, tags: list[str]) -> list[tuple[str, str]]:
    """One segmenter word cut where its characters' tags part, each piece with the tag of
    its first character: a B- tag starts a piece; a character joins the piece when its tag
    is the piece's, or the piece's is B-X and its is I-X; any other tag starts a piece
    (``multilingual_eval/datasets/lang_preprocessing.py`` 22-68, on WikiANN's label ids: B-
    odd, I-X = B-X + 1)."""
    pieces: list[tuple[str, str]] = []
    for char, tag in zip(chars, tags):
        if pieces:
            text, first = pieces[-1]
            if not tag.startswith("B-") and (tag == first or (first.startswith("B-") and tag == "I-" + first[2:])):
                pieces[-1] = (text + char, first)
                continue
        pieces.append((char, tag))
    return pieces


def resegment_chinese(sentence: TaggedSentence, segment: Callable[[str], list[str]]) -> TaggedSentence:
    """A WikiANN Chinese sentence (one token per character) made of words: each run of
    one-character tokens is segmented by ``segment``, and each word cut where its tags part
    (:func:`_split_by_tags`). A token that is not one character other than whitespace and
    "。" (WikiANN's few ``None`` tokens, say) is kept as it is, and cuts the runs."""
    words: list[str] = []
    tags: list[str] = []
    run: list[int] = []  # token indices of the current run

    def flush() -> None:
        if not run:
            return
        text = "".join(sentence.words[k] for k in run)
        run_tags = [sentence.tags[k] for k in run]
        found = [w for w in segment(text) if w]
        if "".join(found) != text:
            raise AlignfreezeError(f"the Chinese segmenter changed the text {text!r} into {found!r}")
        at = 0
        for word in found:
            for piece, tag in _split_by_tags(word, run_tags[at : at + len(word)]):
                words.append(piece)
                tags.append(tag)
            at += len(word)
        run.clear()

    for k, (token, tag) in enumerate(zip(sentence.words, sentence.tags)):
        if len(token) == 1 and not token.isspace() and token != _SENTENCE_END:
            run.append(k)
            continue
        flush()
        words.append(token)
        tags.append(tag)
    flush()
    return TaggedSentence(words, tags, sentence.sent_id)
