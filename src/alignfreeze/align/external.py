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
    sentence pair of the corpus, in the corpus's order."""

    name: Literal["pharaoh"] = "pharaoh"
    links: dict[str, Path] = Field(description="language pair (en-fr) -> links file")
    one_based: bool = False

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.external import PharaohAligner

        if pair not in self.links:
            raise AlignfreezeError(
                f"the pharaoh aligner has no links file for {pair} (links: {', '.join(self.links) or 'none'})"
            )
        return PharaohAligner(self.links[pair], one_based=self.one_based)
