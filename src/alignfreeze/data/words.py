"""Splitting raw text into words (pre-tokenisation), shared by every aligner and reader.

Rules, in order:

1. ``pretokenized=True``: split on whitespace only and keep the tokens as given (gold
   alignment sets and CoNLL-U come segmented, and their word indices must be preserved).
2. Otherwise, words are the matches of ``\\w+|[^\\w\\s]+`` under the ``regex`` module, whose
   ``\\w`` follows Unicode (combining marks stay inside their word: Hindi ``हिन्दी`` is one
   word, where Python's ``re`` would cut it at every vowel sign).
3. Scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar,
   Tibetan): when the text is not already segmented, every character of those scripts is
   its own word -- one grapheme cluster, so Thai vowel and tone marks stay on their base
   letter. Runs of other scripts inside such text (Latin names, digits) are split by rule 2.
   A text counts as already segmented when a space separates two characters of those
   scripts (``我 爱 你``); it is then split by whitespace and rule 2, never per character.
   This applies whatever the language code says, so mixed or mislabelled input works.

One character per word is a floor, not a segmenter: it is the fallback the AlignFreeze
and SimAlign references use for zh/ja/th, and it is what dictionary matching needs when
the dictionary holds single characters. Users with a real segmenter pass its output with
``pretokenized=True``.
"""

from __future__ import annotations

import regex

WORD_PATTERN = regex.compile(r"\w+|[^\w\s]+")
_NO_SPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
NO_SPACE_CHAR = regex.compile(rf"[{_NO_SPACE}]")
_SEGMENTED = regex.compile(rf"[{_NO_SPACE}][\p{{M}}]*\s+[{_NO_SPACE}]")
# One grapheme whose base is a no-space-script character, or a run of anything else.
_PER_CHAR = regex.compile(rf"(?=[{_NO_SPACE}])\X|[^{_NO_SPACE}]+")

#: Language codes whose text is usually written without spaces.
NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"})


def split_words(text: str, pretokenized: bool = False) -> list[str]:
    """Split one sentence into words, the same way for every aligner and task (see the module
    docstring for the rules); ``pretokenized`` splits on whitespace only.

    Example::

        af.split_words("L'homme n'a rien vu.")
    """
    if pretokenized:
        return text.split()
    if not NO_SPACE_CHAR.search(text) or _SEGMENTED.search(text):
        return WORD_PATTERN.findall(text)
    words: list[str] = []
    for piece in _PER_CHAR.findall(text):
        if NO_SPACE_CHAR.match(piece):
            words.append(piece)
        else:
            words.extend(WORD_PATTERN.findall(piece))
    return words
