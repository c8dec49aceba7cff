"""What a source of real text is: a name, its licence and origin, and its documents in a
fixed order (the corpus builder interleaves sources and counts their chunks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Suffixes the product reads as text (ingest/readers.py); anything else is renamed to .txt.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


@dataclass(frozen=True)
class Doc:
    """One corpus file: its path inside the corpus folder (posix, relative) and its bytes."""

    path: str
    data: bytes


@dataclass(frozen=True)
class Source:
    """A source of real text; ``docs`` yields its documents, always in the same order."""

    name: str
    licence: str
    origin: str  # where the text comes from: a package file, a dataset file
    docs: Callable[[], Iterator[Doc]]


def corpus_path(folder: str, relative: str) -> str:
    """Where a file of a source goes in the corpus: under the source's folder, without a
    ``.gz``, with ``.txt`` added when the product would not read its suffix.

    >>> corpus_path("linux-docs", "PCI/pci.rst.gz")
    'linux-docs/PCI/pci.rst.txt'
    >>> corpus_path("python-docs", "library/json.html")
    'python-docs/library/json.html'
    """
    name = relative.removesuffix(".gz")
    if not name.lower().endswith(TEXT_SUFFIXES):
        name += ".txt"
    return f"{folder}/{name}"


def markdown(items: list[tuple[str, list[str]]]) -> bytes:
    """Items (a real heading, its real paragraphs) as one markdown file."""
    parts = []
    for heading, paragraphs in items:
        parts.append(f"## {heading.strip()}")
        parts.extend(p.strip() for p in paragraphs if p.strip())
    return ("\n\n".join(parts) + "\n").encode("utf-8")


def grouped(folder: str, stem: str, items: list[tuple[str, list[str]]], per_file: int) -> Iterator[Doc]:
    """``items`` packed ``per_file`` to a markdown file, so that short passages do not make
    thousands of tiny files; files are numbered in order."""
    for number, first in enumerate(range(0, len(items), per_file), start=1):
        yield Doc(f"{folder}/{stem}-{number:04d}.md", markdown(items[first:first + per_file]))


def _files(folder: str, root: Path, pattern: str) -> Iterator[Doc]:
    for path in sorted(root.glob(pattern)):
        yield Doc(corpus_path(folder, path.name), path.read_bytes())


def repo_sources(repo: Path) -> list[Source]:
    """Text inside the repository itself, for a library built without network or
    ../shared (``--tiny``): the project's docs and the SQuAD 2.0 articles of the evals."""
    squad = repo / "evals" / "data" / "squad2" / "corpus"
    return [Source("repo-docs", "Apache-2.0 (the project's own documentation)",
                   "docs/ of the repository", lambda: _files("repo-docs", repo / "docs", "*.md")),
            Source("repo-squad2", "CC BY-SA 4.0 (Wikipedia text; evals/data/squad2/README.md)",
                   "evals/data/squad2/corpus/ of the repository",
                   lambda: _files("repo-squad2", squad, "*.txt"))]
