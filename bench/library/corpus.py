"""``python -m bench.library.corpus``: the real-text library as corpus folders of about
1k, 10k and 100k chunks, counted with the product's own cleaning and chunking.

Each ``<cache>/corpus-<size>/`` is a plain corpus folder (the seed article at its root,
every other source in its own subfolder) and ``<cache>/corpus-<size>.json`` records the
exact chunk and document counts, per source with licence and origin, and the recipe it
was built from. ``corpus-seed`` holds the seed article alone. Building is deterministic;
a folder whose recorded recipe still matches is reused.

    python -m bench.library.corpus [--sizes 1000 10000 100000] [--cache DIR] [--data DIR]
                                   [--repo-text]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

from core.settings import Settings
from ingest import READERS
from ingest.chunk import CHUNKING_VERSION
from ingest.clean import CLEANING_VERSION

from . import CACHE, REPO, SIZES
from .assemble import Entry, assemble, chunk_counter, prefix, seeds_in, summary
from .debian import FetchError, debian_sources
from .shared_data import shared_sources
from .sources import Doc, Source, repo_sources

BUILDER = "1"  # bump when the assembly changes what a recipe builds
TOLERANCE = 0.03  # a library this far off its size is reported
SEED_LICENCE = "the project's seed article (corpus/): a copy of a Wikipedia article, CC BY-SA"


def seed_docs(seed_dir: Path) -> list[Doc]:
    """Every file of the seed corpus the product reads, at the same relative path."""
    files = sorted(p for p in seed_dir.rglob("*") if p.is_file() and p.suffix.lower() in READERS
                   and not any(part.startswith(".") for part in p.relative_to(seed_dir).parts))
    return [Doc(p.relative_to(seed_dir).as_posix(), p.read_bytes()) for p in files]


def counting_settings() -> dict:
    """The ingest settings that decide the chunk count: the product's defaults."""
    fields = Settings.model_fields
    return {name: fields[name].default for name in ("chunk_max_words", "index_previews", "max_document_mb")}


def recipe(seed: list[Doc], sources: list[Source], settings: dict) -> dict:
    """Everything a library's documents depend on: when it is unchanged, so are they."""
    return {"builder": BUILDER, "cleaning_version": CLEANING_VERSION,
            "chunking_version": CHUNKING_VERSION, "settings": settings,
            "seed": {d.path: hashlib.sha256(d.data).hexdigest() for d in seed},
            "sources": [[s.name, s.origin] for s in sources]}


def digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def corpus_dir(cache: Path, label: str) -> Path:
    return cache / f"corpus-{label}"


def record_file(cache: Path, label: str) -> Path:
    return cache / f"corpus-{label}.json"


def reusable(cache: Path, label: str, recipe_sha: str) -> dict | None:
    """The recorded library when its recipe matches and its folder holds its files."""
    try:
        record = json.loads(record_file(cache, label).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = corpus_dir(cache, label)
    if record.get("recipe_sha") != recipe_sha or not folder.is_dir():
        return None
    files = record.get("files", {})
    present = sum(1 for p in folder.rglob("*") if p.is_file())
    if present != len(files) or any(not (folder / path).is_file() or (folder / path).stat().st_size != size
                                    for path, (size, _chunks) in files.items()):
        return None
    return record


def write(cache: Path, label: str, entries: list[Entry], record: dict) -> None:
    """The corpus folder (written aside, then moved in place), then its record."""
    folder = corpus_dir(cache, label)
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    for entry in entries:
        path = scratch / entry.doc.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(entry.doc.data)
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    temporary = record_file(cache, label).with_suffix(".json.partial")
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    temporary.replace(record_file(cache, label))


def make_record(label: str, entries: list[Entry], sources: list[Source], rec: dict) -> dict:
    target = None if label == "seed" else int(label)
    licences = {"seed": SEED_LICENCE, **{s.name: s.licence for s in sources}}
    origins = {"seed": "corpus/ of the repository", **{s.name: s.origin for s in sources}}
    counts = summary(entries, licences, origins)
    return {"label": label, "target": target, **counts,
            "off_target": round(counts["chunks"] / target - 1, 4) if target else 0.0,
            "folder": corpus_dir(Path(), label).name, "built": time.strftime("%Y-%m-%d %H:%M %Z"),
            "recipe_sha": digest(rec), "recipe": rec,
            "files": {e.doc.path: [len(e.doc.data), e.chunks] for e in entries}}


def _progress(total: int) -> None:
    print(f"bench.library: {total:,} chunks counted", flush=True)


def build(sizes: list[int], cache: Path = CACHE, data: Path | None = None,
          seed_dir: Path = REPO / "corpus", repo_only: bool = False) -> dict[str, dict]:
    """The seed-only library and one of each size, built or reused: label -> record. The
    text is Debian's and ../shared/data's, or (``repo_only``) the repository's own."""
    cache.mkdir(parents=True, exist_ok=True)
    seed = seed_docs(seed_dir)
    if not seed:
        raise SystemExit(f"bench.library: no seed documents in {seed_dir}")
    sources = repo_sources(REPO) if repo_only else debian_sources(cache) + shared_sources(data)
    rec = recipe(seed, sources, counting_settings())
    records: dict[str, dict] = {}
    labels = ["seed", *(str(size) for size in sorted(set(sizes)))]
    for label in labels:
        if (found := reusable(cache, label, digest(rec))) is not None:
            records[label] = found
            print(f"bench.library: {corpus_dir(cache, label)} is up to date "
                  f"({found['chunks']:,} chunks, {found['documents']:,} documents)", flush=True)
    missing = [label for label in labels if label not in records]
    if missing:
        settings = rec["settings"]
        count = chunk_counter(settings["chunk_max_words"], settings["index_previews"],
                              int(settings["max_document_mb"] * 1_000_000))
        target = max((int(label) for label in missing if label != "seed"), default=0)
        entries = assemble(seed, sources if target else [], target, count, _progress)
        for label in missing:
            chosen = entries[:seeds_in(entries)] if label == "seed" else prefix(entries, int(label))
            records[label] = make_record(label, chosen, sources, rec)
            write(cache, label, chosen, records[label])
            _announce(cache, records[label])
    return {label: records[label] for label in labels}


def _announce(cache: Path, record: dict) -> None:
    parts = ", ".join(f"{name} {row['chunks']:,}" for name, row in record["sources"].items())
    print(f"bench.library: wrote {corpus_dir(cache, record['label'])}: {record['chunks']:,} chunks, "
          f"{record['documents']:,} documents ({parts})", flush=True)
    if record["target"] and abs(record["off_target"]) > TOLERANCE:
        print(f"bench.library: warning: {record['chunks']:,} chunks is {record['off_target']:+.1%} off "
              f"{record['target']:,} (not enough real text, or one long document at the end)",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="chunks per library")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where packages and corpora go")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared datasets folder (skipped when missing)")
    parser.add_argument("--repo-text", action="store_true", help="text from the repository itself "
                        "(docs/, evals' SQuAD articles) instead of Debian's and --data's: no network")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        build(args.sizes, args.cache.resolve(), args.data, repo_only=args.repo_text)
    except FetchError as error:
        raise SystemExit(f"bench.library: {error}") from None
    print(f"bench.library: corpora ready in {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
