"""Symmetrisation of two directional alignments: grow-diag-final-and (Koehn et al., 2005).

Start from the intersection; repeatedly add union links that neighbour (including
diagonally) an existing link and cover a word not yet aligned on either side; finally
add union links whose source *and* target words are both still unaligned ("final-and").
"""

from __future__ import annotations

from typing import Iterable

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def grow_diag_final_and(forward: Iterable[tuple[int, int]], reverse: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    fwd, rev = set(forward), set(reverse)
    union = fwd | rev
    alignment = fwd & rev
    src_aligned = {i for i, _ in alignment}
    tgt_aligned = {j for _, j in alignment}

    grew = True
    while grew:
        grew = False
        for i, j in sorted(alignment):
            for di, dj in _NEIGHBOURS:
                link = (i + di, j + dj)
                if (
                    link in union
                    and link not in alignment
                    and (link[0] not in src_aligned or link[1] not in tgt_aligned)
                ):
                    alignment.add(link)
                    src_aligned.add(link[0])
                    tgt_aligned.add(link[1])
                    grew = True
    for direction in (fwd, rev):
        for i, j in sorted(direction):
            if (i, j) not in alignment and i not in src_aligned and j not in tgt_aligned:
                alignment.add((i, j))
                src_aligned.add(i)
                tgt_aligned.add(j)
    return alignment


def one_to_one(links: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Keep only links whose source and target word each take part in no other link."""
    links = set(links)
    src_count: dict[int, int] = {}
    tgt_count: dict[int, int] = {}
    for i, j in links:
        src_count[i] = src_count.get(i, 0) + 1
        tgt_count[j] = tgt_count.get(j, 0) + 1
    return {(i, j) for i, j in links if src_count[i] == 1 and tgt_count[j] == 1}
