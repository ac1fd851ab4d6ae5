"""Import links produced by an external tool (fast_align, AWESOME-align, GIZA++...) in
Pharaoh format, one line per sentence pair of the corpus, 0-based unless told otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

from pydantic import Field

from alignfreeze.align.base import AlignerSettings, Links, Progress, WordAligner
from alignfreeze.data.pharaoh import read_pharaoh
from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import sha256_file


class PharaohAligner(WordAligner):
    name = "pharaoh"

    def __init__(self, links_file: str | Path, one_based: bool = False):
        self.links_file = Path(links_file)
        self.one_based = one_based
        self._links = read_pharaoh(self.links_file, one_based=one_based)

    def settings(self) -> dict:
        return {"links_file": str(self.links_file), "sha256": sha256_file(self.links_file), "one_based": self.one_based}

    def align_words(
        self, src: Sequence[list[str]], tgt: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[Links]:
        if len(self._links) != len(src):
            raise AlignfreezeError(
                f"{self.links_file} has {len(self._links)} lines of links for {len(src)} sentence pairs"
            )
        if on_progress:
            on_progress(len(src))
        return [sorted(a.sure) for a in self._links]


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
