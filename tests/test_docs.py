"""The README stays short and every page and relative link of the documentation resolves.

The site itself is built by `mkdocs build --strict` in `make test` (it also checks anchors
and the generated reference); these checks need no mkdocs and name the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_MAX_LINES = 250

# [text](target) and ![alt](target); a target ends at whitespace or the closing bracket.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def nav_pages(nav) -> list[str]:
    """Every page path in mkdocs.yml's nav, however deeply nested."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return []


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of each relative link outside code blocks and code spans."""
    links, in_fence = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#"):
                links.append((number, target))
    return links


def load_mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        """mkdocs.yml may hold !!python/name tags (mkdocs-material's emoji); none is needed here."""

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


def test_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def test_every_nav_page_exists():
    config = load_mkdocs_config()
    pages = nav_pages(config["nav"])
    assert len(pages) >= 10, pages
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml nav names pages that do not exist under docs/: {missing}"


def test_every_docs_page_is_in_the_nav():
    pages = set(nav_pages(load_mkdocs_config()["nav"]))
    orphans = sorted(
        str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md") if str(path.relative_to(DOCS)) not in pages
    )
    assert not orphans, f"pages under docs/ that no nav entry reaches: {orphans}"


def test_every_relative_link_resolves():
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    broken = []
    for path in files:
        for number, target in relative_links(path):
            file_part = target.split("#", 1)[0]
            if file_part and not (path.parent / file_part).exists():
                broken.append(f"{path.relative_to(ROOT)}:{number}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_the_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        'See [a](missing.md), ![b](img.png "title"), [c](https://example.org) and [d](#here).\n'
        "```\n[not a link](inside-a-fence.md)\n```\n`[nor](in-a-span.md)`\n",
        encoding="utf-8",
    )
    assert relative_links(page) == [(1, "missing.md"), (1, "img.png")]
