"""The attacks on the index and on ingest: 5-8."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from .client import Context
from .harness import MB, QUESTION, Tally, say, short


# -- 5. index damage ------------------------------------------------------------------------
def _version(index: Path) -> Path:
    return index / (index / "CURRENT").read_text("utf-8").strip()


def _edit_manifest(index: Path, change: Callable[[dict], None]) -> None:
    path = _version(index) / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2), "utf-8")


def _wrong_dimension(index: Path) -> None:
    def change(manifest: dict) -> None:
        old = int(manifest["embedder"]["dimension"])
        manifest["embedder"]["dimension"] = 284 if old == 384 else old - 100
    _edit_manifest(index, change)


def _garbage_current(index: Path) -> None:
    (index / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")


def _unlisted_truncated_vectors(index: Path) -> None:
    vectors = _version(index) / "vectors.faiss"
    if not vectors.is_file():
        raise RuntimeError(f"no vectors.faiss in {vectors.parent}")
    _edit_manifest(index, lambda manifest: manifest["files"].pop("vectors.faiss", None))
    os.truncate(vectors, 10)


def _half_chunks(index: Path) -> None:
    chunks = _version(index) / "chunks.jsonl"
    os.truncate(chunks, chunks.stat().st_size // 2)


DAMAGE = {
    "manifest dimension 384 -> 284": _wrong_dimension,
    "garbage bytes in CURRENT": _garbage_current,
    "vectors.faiss unlisted and cut to 10 bytes": _unlisted_truncated_vectors,
    "chunks.jsonl cut to half": _half_chunks,
}


def attack_index_damage(t: Tally, ctx: Context) -> None:
    """Damage the served index four ways; for each, three tries from the issue: POST /api/ask
    must be 503 with a one-line JSON error that does not name the home folder; GET /healthz
    must be 503; `ingest` must exit 0 and the next ask be 200. A fourth try per kind: after
    that ingest, a new process (`ask --json`) must answer from the index on disk (the
    server may still hold the undamaged index in memory, which hides an ingest that
    repaired nothing). Nothing is restored by hand unless ingest did not repair, and then
    only so that the next kind starts from a sound index."""
    index = ctx.home / "index"
    backup = ctx.product.folder("index-backup")
    homes = {str(ctx.home), str(ctx.home.resolve())}
    for kind, damage in DAMAGE.items():
        shutil.rmtree(backup)
        shutil.copytree(index, backup, ignore=shutil.ignore_patterns(".lock"))
        damage(index)
        reply = ctx.client.ask()
        message = reply.error()
        ok = (reply.status == 503 and message is not None and "\n" not in message
              and not any(home in message for home in homes))
        t.check(not ok, f"[{kind}] POST /api/ask -> {reply}")
        reply = ctx.client.get("/healthz")
        t.check(reply.status != 503, f"[{kind}] GET /healthz -> {reply}")
        ingest = ctx.product.cli(["ingest"], ctx.env, timeout=300)
        after = ctx.client.ask(timeout=120)
        t.check(ingest.rc != 0 or after.status != 200,
                f"[{kind}] ingest rc={ingest.rc} {short(ingest.err[-200:], 200)!r}; then POST /api/ask -> {after}")
        fresh = ctx.product.cli(["ask", "--json", QUESTION], ctx.env, timeout=300)
        answered = fresh.rc == 0 and '"citations"' in fresh.out
        t.check(not answered, f"[{kind}] after ingest, a new `ask --json` process -> rc={fresh.rc} "
                              f"{short((fresh.out if answered else fresh.err)[-160:], 160)!r}")
        if after.status != 200 or not answered:
            t.notes.append(f"[{kind}] ingest did not repair the index; restored it from a copy for the next kind")
            shutil.rmtree(index)
            shutil.copytree(backup, index)


# -- 6. document loss -----------------------------------------------------------------------
DOCUMENTS = {
    "a.txt": "Zorblat crystals form only in deep caves under high pressure.\n\n"
             "Miners have searched for them for two centuries, and the largest ones are kept in museums.\n",
    "b.txt": "Quibbles are small blue birds that nest in reeds.",
    "c.txt": "",
    "d.html": "<html><body>" + "<div>" * 3000 + "Frobnic acid dissolves copper quickly."
              + "</div>" * 3000 + "</body></html>\n",
}
DOCUMENT_QUESTIONS = [("Where do zorblat crystals form?", "caves"), ("What are quibbles?", "blue birds"),
                      ("What does frobnic acid dissolve?", "copper")]


def attack_document_loss(t: Tally, ctx: Context) -> None:
    """Ingest four small documents (a first line that is a whole sentence, a file of one
    line, an empty file, a sentence inside 3,000 nested <div>s) and ask the CLI about each:
    fails when the answer abstains or lacks the key words; ingest's output must name c.txt
    (fails when it does not)."""
    corpus, home = ctx.product.folder("docs-corpus"), ctx.product.folder("docs-home")
    index = home / "built-index"
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, "utf-8")
    env = ctx.product.env(home, corpus)
    ingest = ctx.product.cli(["ingest", "--corpus", str(corpus), "--index", str(index)], env, timeout=300)
    say(f"  ingest rc={ingest.rc}: {short(ingest.both[-300:], 300)}")
    helptext = ctx.product.cli(["ask", "--help"], env, timeout=60).out
    extra = ["--corpus", str(corpus)] if "--corpus" in helptext else []
    for question, words in DOCUMENT_QUESTIONS:
        done = ctx.product.cli(["ask", "--index", str(index), *extra, "--llm", "extractive", "--json", question],
                               env, timeout=300)
        try:
            answer = json.loads(done.out[done.out.index("{"):])
        except ValueError:
            t.check(True, f"ask {question!r} -> rc={done.rc}, no JSON: {short(done.err[-200:], 200)}")
            continue
        found = words in answer.get("text", "").lower()
        t.check(bool(answer.get("abstained")) or not found,
                f"ask {question!r} -> abstained={answer.get('abstained')} text={short(answer.get('text'), 120)!r}")
    t.check("c.txt" not in ingest.both, f"ingest output does not name the empty c.txt: {short(ingest.both[-200:])!r}")


# -- 7. ingest cost -------------------------------------------------------------------------
SPLIT_TIMING = """
import sys, time
from core.text import split_sentences
for n in (4000, 16000):
    best = None
    for _ in range(3):
        began = time.perf_counter()
        split_sentences("A. " * n)
        took = time.perf_counter() - began
        best = took if best is None else min(best, took)
        if took > 0.5:
            break
    print(n, best, flush=True)
"""


def _english_like(total: int, seed: int = 13) -> Iterator[str]:
    """Deterministic pseudo-English paragraphs, about ``total`` characters in all."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "sto", "tha", "vel", "qui", "dor", "an", "e", "ing", "pra", "sul"]
    vocabulary = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    vocabulary += ["the", "of", "and", "in", "is", "a", "to", "with", "for", "by"] * 50
    written = 0
    while written < total:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            words = rng.choices(vocabulary, k=rng.randint(6, 22))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraph = " ".join(sentences) + "\n\n"
        written += len(paragraph)
        yield paragraph


def attack_ingest_cost(t: Tally, ctx: Context) -> None:
    """(a) split_sentences on "A. " * n: fails when t(16000)/t(4000) > 8 (quadratic is ~16);
    (b) ingest of a 30 MB text file, killed after 25 s: fails when no line of its output
    mentions an estimate ("minute" or "estimate") by then."""
    timing = ctx.product.python(SPLIT_TIMING, ctx.env, timeout=180)
    times = dict(line.split() for line in timing.out.splitlines() if len(line.split()) == 2)
    if "4000" not in times:
        raise RuntimeError(f"timing split_sentences failed: {short(timing.err[-300:])}")
    small = float(times["4000"])
    if "16000" in times:
        large = float(times["16000"])
        t.check(large / small > 8, f"split_sentences: t(16000)/t(4000) = {large:.3f}/{small:.3f} s "
                                   f"= {large / small:.1f}")
    else:
        t.check(True, f"split_sentences: t(4000) = {small:.2f} s, n=16000 not done in 180 s")

    corpus, home = ctx.product.folder("big-corpus"), ctx.product.folder("big-home")
    with open(corpus / "big.txt", "w", encoding="utf-8") as handle:
        handle.writelines(_english_like(30 * MB))
    done = ctx.product.cli(["ingest"], ctx.product.env(home, corpus), timeout=25)
    said = [line for line in done.both.splitlines() if re.search(r"minute|estimate", line, re.IGNORECASE)]
    t.check(not said, f"ingest of 30 MB (rc={done.rc}, {done.seconds:.0f} s): "
                      + (f"said {short(said[0], 120)!r}" if said else f"no estimate; output: {short(done.both[-160:])!r}"))
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


# -- 8. file names as HTML ------------------------------------------------------------------
STATUS = ("from app.web import ChatSession; from core.settings import load_settings; "
          "print(ChatSession(load_settings()).status())")


def attack_file_names(t: Tally, ctx: Context) -> None:
    """A corpus file named like an HTML tag: fails when the chat's status line (the
    Markdown above the chat) contains "<img" unescaped."""
    corpus, home = ctx.product.folder("html-corpus"), ctx.product.folder("html-home")
    (corpus / "<img src=x onerror=alert(1)>.txt").write_text("Glimmerfish live in cold mountain lakes.\n")
    env = ctx.product.env(home, corpus)
    ingest = ctx.product.cli(["ingest"], env, timeout=300)
    if ingest.rc != 0:
        raise RuntimeError(f"ingest failed (rc={ingest.rc}): {short(ingest.err[-300:])}")
    status = ctx.product.python(STATUS, env, timeout=180)
    if status.rc != 0:
        raise RuntimeError(f"ChatSession(...).status() failed: {short(status.err[-300:])}")
    t.check("<img" in status.out, f"ChatSession.status() -> {short(status.out, 200)!r}")
