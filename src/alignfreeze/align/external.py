"""Import links produced by an external tool (fast_align, AWESOME-align, GIZA++...) in
Pharaoh format, one line per sentence pair of the corpus, 0-based unless told otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

from pydantic import Field

from alignfreeze.align.base import AlignerSettings, Links, Progress, WordAligner
from alignfreeze.data.pharaoh import check_links_fit, link_past_end, read_pharaoh
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import sha256_file


class PharaohAligner(WordAligner):
    name = "pharaoh"

    def __init__(self, links_file: str | Path, one_based: bool = False, line_numbers: Sequence[int] | None = None):
        self.links_file = Path(links_file)
        self.one_based = one_based
        #: The corpus lines being aligned (a chunk of a streamed corpus), or None: all of them.
        self.line_numbers = None if line_numbers is None else [int(i) for i in line_numbers]
        self._sha256: str | None = None

    def for_lines(self, line_numbers: Sequence[int]) -> "PharaohAligner":
        aligner = PharaohAligner(self.links_file, self.one_based, line_numbers)
        aligner._sha256 = self._sha256
        return aligner

    def settings(self) -> dict:
        if self._sha256 is None:
            self._sha256 = sha256_file(self.links_file)
        settings = {"links_file": str(self.links_file), "sha256": self._sha256, "one_based": self.one_based}
        if self.line_numbers is not None:  # a chunk's links depend on its lines, not only its sentences
            import hashlib

            settings["lines"] = hashlib.sha256(repr(self.line_numbers).encode()).hexdigest()[:16]
        return settings

    def n_lines(self) -> int:
        """Lines of links in the file (one per sentence pair of the corpus)."""
        from alignfreeze.data.line_index import LineIndex

        return len(LineIndex(self.links_file))

    def align_words(
        self, src: Sequence[list[str]], tgt: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[Links]:
        if self.line_numbers is None:
            links = read_pharaoh(self.links_file, one_based=self.one_based)
            if len(links) != len(src):
                raise AlignfreezeError(
                    f"{self.links_file} has {len(links)} lines of links for {len(src)} sentence pairs"
                )
            check_links_fit(self.links_file, links, [(len(s), len(t)) for s, t in zip(src, tgt)], self.one_based)
            out = [sorted(a.sure) for a in links]
        else:
            from alignfreeze.data.line_index import LineIndex
            from alignfreeze.data.pharaoh import parse_links
            from alignfreeze.errors import DataFormatError

            if len(self.line_numbers) != len(src):
                raise AlignfreezeError(f"{len(self.line_numbers)} line numbers for {len(src)} sentence pairs")
            index = LineIndex(self.links_file)
            if self.line_numbers and max(self.line_numbers) >= len(index):
                raise AlignfreezeError(
                    f"{self.links_file} has {len(index)} lines of links; the corpus has line {max(self.line_numbers) + 1}"
                )
            out = []
            for number, line, words, translation in zip(self.line_numbers, index.lines(self.line_numbers), src, tgt):
                try:
                    alignment = parse_links(line, self.one_based)
                except ValueError as exc:
                    raise DataFormatError(self.links_file, number + 1, str(exc)) from None
                problem = link_past_end(alignment, len(words), len(translation), self.one_based)
                if problem:  # named as the file writes it, at its line
                    raise DataFormatError(self.links_file, number + 1, problem)
                out.append(sorted(alignment.sure))
        if on_progress:
            on_progress(len(src))
        return out


class PharaohAlignerConfig(AlignerSettings):
    """Links computed by an external tool (fast_align, AWESOME-align...), one Pharaoh line per
    sentence pair of the corpus, in the corpus's order.

    Args:
        links: language pair (``en-fr``) -> links file.
        one_based: the files count words from 1.

    Example::

        config = af.PharaohAlignerConfig(links={"en-fr": "enfr.fast_align"})
        corpus = af.align_with(config, sentence_pairs, "en", "fr")
    """

    name: Literal["pharaoh"] = "pharaoh"
    links: dict[str, Path] = Field(description="language pair (en-fr) -> links file")
    one_based: bool = Field(False, description="word indices in the links files start at 1")

    def check_pairs(self, pairs: Sequence[str]) -> None:
        missing = [pair for pair in pairs if pair not in self.links]
        if missing:
            raise ValueError(f"the pharaoh aligner has no links file for {', '.join(missing)}")

    def check_files(self) -> None:
        for pair, path in self.links.items():
            if not Path(path).is_file():
                raise AlignfreezeError(f"pharaoh aligner: links file for {pair} not found: {path}")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.external import PharaohAligner

        if pair not in self.links:
            raise AlignfreezeError(
                f"the pharaoh aligner has no links file for {pair} (links: {', '.join(self.links) or 'none'})"
            )
        return PharaohAligner(self.links[pair], one_based=self.one_based)
