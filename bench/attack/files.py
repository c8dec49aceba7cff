"""13. Hostile and odd files (issue 26), replayed from outside through the real CLI and
server: parse bombs, a name that is not UTF-8, a link out of the corpus, a manifest edited
under the index, upload names that pass for another document, byte damage that only a
deep health check can see."""

from __future__ import annotations

import json
import os
import shutil
import time

from .bombs import docx_bomb, pdf_bomb
from .client import Context
from .harness import QUESTION, Tally, short

CPU_SECONDS = 20  # the limit this attack runs its ingest under (the default is 60)


def _corpus(ctx: Context):
    corpus = ctx.product.folder("hostile-corpus")
    shutil.copy(next(ctx.corpus.glob("*.txt")), corpus)
    (corpus / "bomb.pdf").write_bytes(pdf_bomb(pages=12, operators=300_000))  # about 100 s unbounded
    (corpus / "bomb.docx").write_bytes(docx_bomb(megabytes=30))  # a zip bomb: refused before parsing
    with open(os.path.join(os.fsencode(corpus), b"bad\xffname.txt"), "wb") as handle:
        handle.write(b"Gout is caused by uric acid crystals in the joints.")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    return corpus


def attack_hostile_files(t: Tally, ctx: Context) -> None:
    """Ingest a corpus holding the bombs, the odd name and the link: the ingest must
    finish (rc 0) within a few times the CPU limit, name each skipped file and why, and
    index the article; a second ingest after one new file must parse nothing again; a
    manifest with a flipped dimension must be repaired by `ingest`; upload names that pass
    for another must get a 4xx, never a 500."""
    home, corpus = ctx.product.folder("hostile-home"), _corpus(ctx)
    knows_limits = "parse_cpu_seconds" in (ctx.product.repo / "core" / "settings.py").read_text()
    # a version without the setting refuses it as unknown: run it with its own behaviour
    env = ctx.product.env(home, corpus, **({"parse_cpu_seconds": str(CPU_SECONDS)} if knows_limits else {}))
    began = time.monotonic()
    first = ctx.product.cli(["ingest", "--files"], env, timeout=30 * CPU_SECONDS)
    took = time.monotonic() - began
    t.check(first.rc != 0, f"ingest of bombs, odd name and link: rc={first.rc} in {took:.0f} s "
                           f"{short(first.err[-200:], 200)!r}")
    t.check(took > 4 * CPU_SECONDS + 60, f"ingest took {took:.0f} s with a {CPU_SECONDS} s parse limit")
    for name, says in (("bomb.pdf", "parse_cpu_seconds"), ("bomb.docx", "zip bomb"),
                       ("bad\\xffname.txt", "not valid UTF-8"), ("passwd.txt", "symbolic link")):
        line = next((x for x in first.out.splitlines() if x.startswith(f"{name}: skipped")), "")
        t.check(says not in line, f"--files says of {name}: {line or '(nothing)'}")
    (corpus / "note.txt").write_text("Tin gizmos rattle loudly when they are shaken in a jar.")
    began = time.monotonic()
    second = ctx.product.cli(["ingest"], env, timeout=30 * CPU_SECONDS)
    again = time.monotonic() - began
    t.check(second.rc != 0 or again > CPU_SECONDS,
            f"one new file: ingest rc={second.rc} in {again:.1f} s (the bombs must come from the parse cache)")
    current = home / "index" / "CURRENT"
    if not current.exists():
        t.check(True, "manifest dimension flipped: no index to damage (the ingests above built none)")
        t.check(True, "then `ask --json`: no index")
    else:
        version = home / "index" / current.read_text().strip()
        manifest = json.loads((version / "manifest.json").read_text())
        manifest["embedder"]["dimension"] = 284
        (version / "manifest.json").write_text(json.dumps(manifest))
        repair = ctx.product.cli(["ingest"], env, timeout=300)
        t.check(repair.rc != 0 or "corpus unchanged" in repair.out,
                f"manifest dimension flipped: ingest rc={repair.rc} {short(repair.out[-160:], 160)!r}")
        asked = ctx.product.cli(["ask", "--json", QUESTION], env, timeout=300)
        t.check(asked.rc != 0, f"then `ask --json` rc={asked.rc} {short(asked.err[-160:], 160)!r}")
    if ctx.client is None:
        t.notes.append("no server: the upload names were not tried")
        return
    names = ("\u00e9" * 130 + ".txt", "calcinosis\u200b_cutis.txt", "notes\u202etxt.md", "CALCINOSIS_CUTIS.txt",
             "notes\uff0etxt.md", "cafe\u0301.txt")
    for number, name in enumerate(names):  # other bytes each time: no name is refused as a copy
        body = f"Bees make honey in hives; note {number} says so.".encode()
        reply = ctx.client.request("POST", f"/api/upload?name={_quote(name)}", body,
                                   headers={"Content-Type": "application/octet-stream"})
        t.check(not 400 <= reply.status < 500, f"upload named {name!r} -> {reply}")
    _deep_health(t, ctx)


def _deep_health(t: Tally, ctx: Context) -> None:
    """One bit flipped in the main server's chunk table, its size and time kept: the cheap
    /healthz cannot see it, ?deep=1 must say 503, and after `ingest` 200 again."""
    warm = ctx.client.ask(timeout=120)  # the server loads and checks the version it serves
    healthy = ctx.client.get("/healthz")
    t.notes.append(f"before the damage: ask -> {warm.status}, /healthz -> {healthy.status}")
    index = ctx.home / "index"
    version = index / (index / "CURRENT").read_text().strip()
    table = version / "chunks.jsonl"
    stat = table.stat()
    data = bytearray(table.read_bytes())
    data[10] ^= 0x01
    table.write_bytes(bytes(data))
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    reply = ctx.client.get("/healthz?deep=1")
    t.check(reply.status != 503, f"a bit flipped in chunks.jsonl (size and time kept): /healthz?deep=1 -> {reply}")
    repair = ctx.product.cli(["ingest"], ctx.env, timeout=300)
    reply = ctx.client.get("/healthz?deep=1")
    t.check(repair.rc != 0 or reply.status != 200, f"after `ingest` (rc={repair.rc}): /healthz?deep=1 -> {reply}")


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
