"""Real text from Debian's documentation packages, fetched without root: ``apt-get
download`` into the cache, then ``dpkg -x``; a package already downloaded or unpacked is
reused, so a second run needs no network and takes seconds."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .sources import Doc, Source, corpus_path

# Pages that are only lists of links (indexes, tables of contents, search): not text.
LINK_LISTS = frozenset({"genindex", "search", "py-modindex", "contents", "bookindex", "sitemap",
                        "keyword_index", "doclist", "doc_backlink_crossref", "doc_keyword_crossref",
                        "doc_pagelink_crossref", "doc_target_crossref"})


@dataclass(frozen=True)
class Package:
    """A documentation package and which of its files are the library's text."""

    name: str  # the source's folder in the corpus
    package: str  # the Debian package
    root: str  # the folder inside the package that holds the documents
    suffixes: tuple[str, ...]
    licence: str

    def wanted(self, relative: Path) -> bool:
        """A document of this package, not a link list, an asset folder or the root index."""
        if not relative.name.endswith(self.suffixes):
            return False
        if any(part.startswith(("_", ".")) for part in relative.parts):
            return False
        stem = relative.name.split(".")[0]
        root_index = len(relative.parts) == 1 and stem == "index"
        return not (root_index or stem in LINK_LISTS or stem.startswith("genindex"))


PACKAGES = (
    Package("python-docs", "python3.11-doc", "usr/share/doc/python3.11/html", (".html",),
            "PSF-2.0 (Python Software Foundation License)"),
    Package("linux-docs", "linux-doc-6.1", "usr/share/doc/linux-doc-6.1/Documentation",
            (".rst.gz", ".txt.gz"), "GPL-2.0 (the Linux kernel's Documentation/; a few files dual-licensed)"),
    Package("postgresql-docs", "postgresql-doc-15", "usr/share/doc/postgresql-doc-15/html", (".html",),
            "PostgreSQL Licence"),
    Package("django-docs", "python-django-doc", "usr/share/doc/python-django-doc/html", (".html",),
            "BSD-3-Clause"),
    Package("sqlite-docs", "sqlite3-doc", "usr/share/doc/sqlite3", (".html",), "public domain"),
    Package("git-docs", "git-doc", "usr/share/doc/git-doc", (".html",), "GPL-2.0"),
)
NEEDS_TOOLS = ("bench.library needs Debian's apt-get and dpkg to fetch its real-text corpus; "
               "run it on Debian or Ubuntu (no root needed), or copy a built bench/.cache/library "
               "from a machine that has them")


class FetchError(RuntimeError):
    """A documentation package could not be downloaded or unpacked."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise FetchError(f"{NEEDS_TOOLS} ({name} not found)")
    return path


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        hint = (" (apt knows no such package: its lists may be missing; `sudo apt-get update` "
                "once fixes that)" if "Unable to locate" in result.stderr else "")
        raise FetchError(f"`{' '.join(command)}` failed{hint}: {result.stderr.strip()[-600:]}")


def download(package: str, cache: Path) -> Path:
    """The package's .deb in ``cache/packages``, downloaded by ``apt-get download`` unless
    already there (the newest by name when there are several)."""
    folder = cache / "packages"
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    print(f"bench.library: downloading {package} (apt-get download, no root needed)", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix=".download-", dir=folder))
    try:
        _run([_tool("apt-get"), "download", "-q", package], scratch)
        debs = sorted(scratch.glob(f"{package}_*.deb"))
        if not debs:
            raise FetchError(f"apt-get download {package} gave no .deb file")
        return Path(shutil.move(str(debs[-1]), folder / debs[-1].name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unpack(deb: Path, cache: Path) -> Path:
    """The .deb's files under ``cache/unpacked/<deb name>``, unpacked by ``dpkg -x`` once."""
    target = cache / "unpacked" / deb.stem
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        _run([_tool("dpkg"), "-x", str(deb), str(scratch)], cache)
        (scratch / ".complete").write_text(deb.name + "\n")
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _documents(package: Package, root: Path) -> Iterator[Doc]:
    files = sorted((p.relative_to(root) for p in root.rglob("*") if p.is_file()), key=Path.as_posix)
    for relative in files:
        if package.wanted(relative):
            data = (root / relative).read_bytes()
            if relative.name.endswith(".gz"):
                data = gzip.decompress(data)
            yield Doc(corpus_path(package.name, relative.as_posix()), data)


def debian_sources(cache: Path, packages: tuple[Package, ...] = PACKAGES) -> list[Source]:
    """Every package as a source, fetched and unpacked first (or found in the cache)."""
    sources = []
    for package in packages:
        deb = download(package.package, cache)
        root = unpack(deb, cache) / package.root
        if not root.is_dir():
            raise FetchError(f"{deb.name} has no {package.root}; the package changed its layout")
        sources.append(Source(package.name, package.licence, f"Debian package {deb.name}",
                              lambda package=package, root=root: _documents(package, root)))
    return sources
