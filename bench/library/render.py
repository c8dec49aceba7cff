"""The "Real library" section of bench/RESULTS.md and the plot bench/library.svg, from the
results of ``python -m bench.library`` (bench/library.json); the section lives between
two markers, so rewriting it never touches the rest of the file."""

from __future__ import annotations

from collections.abc import Callable

from evals.text import MARKER_GROUP

from .compare import ANSWER_CHANGED, WORDED_DIFFERENTLY, compare, kind

BEGIN, END = "<!-- library:begin -->", "<!-- library:end -->"  # markers("library")
MET, MISSED, UNMEASURED = "met", "**missed**", "not measured"
BIGGEST = "100000"  # the size the targets are set at


def get(row: dict | None, *keys: str):
    """``row[k1][k2]...``, or None when any is missing."""
    for key in keys:
        if not isinstance(row, dict) or row.get(key) is None:
            return None
        row = row[key]
    return row


def columns(results: dict) -> list[tuple[str, dict]]:
    """(label, row) of each measured library: the seed first, then by size."""
    sizes = results.get("sizes", {})
    return sorted(sizes.items(), key=lambda kv: -1 if kv[0] == "seed" else int(kv[0]))


def _chunks(row: dict) -> int | None:
    return get(row, "ingest", "chunks") or get(row, "corpus", "chunks")


def _check(ok: bool) -> str:
    return MET if ok else MISSED


def _at_biggest(results: dict, test: Callable[[dict], bool | None], what: str) -> str:
    value = test(results["sizes"][BIGGEST]) if BIGGEST in results.get("sizes", {}) else None
    return f"{what}: {UNMEASURED if value is None else _check(value)}"


def _ok(value, test: Callable) -> bool | None:
    return None if value is None else test(value)


def targets(results: dict) -> dict[str, str]:
    """The issue's targets, by table row: what is asked and whether this run met it."""
    library = [row for label, row in columns(results) if label != "seed"]
    rates = [r for row in library if (r := get(row, "ingest", "chunks_per_s")) is not None]
    same = [get(row, "identical") for row in library if get(row, "identical")]
    cold = get(results.get("sizes", {}).get("seed"), "cold_start", "median_s")
    stock = get(results.get("sizes", {}).get("10000"), "stock_ingest", "vs_stock")
    return {
        "ingest": f">= 300 chunks/s: {_check(min(rates) >= 300) if rates else UNMEASURED}",
        "reingest": _at_biggest(results, lambda r: _ok(get(r, "reingest", "median_s"),
                                                       lambda s: s < 5), "< 5 s at 100k"),
        "latency": _at_biggest(results, lambda r: _ok(get(r, "answering"), lambda a: a["p50_ms"] <= 150
                                                      and a["p95_ms"] <= 300),
                               "p50 <= 150 ms, p95 <= 300 ms at 100k"),
        "rss": _at_biggest(results, lambda r: _ok(get(r, "answering", "peak_rss_mb"),
                                                  lambda mb: mb < 1536), "< 1.5 GB at 100k"),
        "cold_start": f"< 3 s: {UNMEASURED if cold is None else _check(cold < 3)}",
        "vs_stock": f">= 2x at 10k: {UNMEASURED if stock is None else _check(stock >= 2)}",
        "identical": ("identical to the seed-only index: "
                      + (_check(all(s["identical"] == s["total"] for s in same)) if same else UNMEASURED)),
    }


def _s(value) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _mb(value) -> str:
    return "-" if value is None else f"{value:.0f} MB"


def _rate(row: dict) -> str:
    rate = get(row, "ingest", "chunks_per_s")
    if rate is None:
        texts = get(row, "ingest", "embedded_per_s")
        return "-" if texts is None else f"- (grown from a smaller index: {texts:.0f} texts/s)"
    return f"{rate:.0f}" + (" (recorded build)" if get(row, "ingest", "from_recorded_build") else "")


def _stock(row: dict, step: str = "stock_ingest") -> str:
    stock = get(row, step)
    return "-" if stock is None else f"{stock['chunks_per_s']:.0f} ({stock['chunks']:,} chunks, {stock['seconds']:.1f} s)"


def _tokens(row: dict) -> str:
    """The tokens each side ran through the model: sourceqa's chunk passes / stock's / stock's without overlap."""
    values = [get(row, "ingest", "tokens"), get(row, "stock_ingest", "tokens"), get(row, "stock_no_overlap", "tokens")]
    return "-" if all(v is None for v in values) else " / ".join("-" if v is None else f"{v:,}" for v in values)


def _latency(row: dict) -> str:
    answering = get(row, "answering")
    return "-" if answering is None else f"{answering['p50_ms']:.0f} / {answering['p95_ms']:.0f} ms"


def _same(row: dict) -> str:
    same = get(row, "identical")
    return "-" if same is None else f"{same['identical']}/{same['total']}"


def _same_decision(row: dict) -> str:
    """Identical, or both declined (a decline names the nearest sections of the library)."""
    same = get(row, "identical")
    if same is None:
        return "-"
    worded = same.get("kinds", {}).get(WORDED_DIFFERENTLY, 0)
    return f"{same['identical'] + worded}/{same['total']}"


def _stable(row: dict) -> str:
    stable, runs = get(row, "answering", "stable"), get(row, "answering", "runs")
    return "-" if stable is None else ("yes" if stable else "**no**") + f" ({len(runs or [])} run{'' if len(runs or []) == 1 else 's'})"


# (measure, cell of a library's row, key of its target in `targets`)
ROWS: list[tuple[str, Callable[[dict], str], str | None]] = [
    ("chunks", lambda r: f"{_chunks(r):,}" if _chunks(r) else "-", None),
    ("documents", lambda r: f"{get(r, 'corpus', 'documents') or 0:,}", None),
    ("ingest, chunks/s (cold process)", _rate, "ingest"),
    ("ingest time", lambda r: _s(get(r, "ingest", "seconds")), None),
    ("stock llama-index, same folder: chunks/s (its 256-token chunks, time)", _stock, None),
    ("ingest from nothing, cold process: stock's time / sourceqa's",
     lambda r: _ratio(get(r, "stock_ingest", "vs_stock")), "vs_stock"),
    ("the same in CPU seconds: stock's / sourceqa's", lambda r: _ratio(get(r, "stock_ingest", "vs_stock_cpu")), None),
    ("stock llama-index without overlap (chunk_overlap=0): chunks/s (chunks, time)",
     lambda r: _stock(r, "stock_no_overlap"), None),
    ("ingest from nothing: stock without overlap's time / sourceqa's (CPU)",
     lambda r: "-" if get(r, "stock_no_overlap") is None else
     f"{_ratio(get(r, 'stock_no_overlap', 'vs_stock'))} ({_ratio(get(r, 'stock_no_overlap', 'vs_stock_cpu'))})", None),
    ("tokens through the model: sourceqa / stock / stock without overlap", _tokens, None),
    ("re-ingest, corpus unchanged (median)", lambda r: _s(get(r, "reingest", "median_s")), "reingest"),
    ("first answer (loads the models and index)", lambda r: _s(get(r, "answering", "first_answer_s")), None),
    ("answer latency p50 / p95 (extractive)", _latency, "latency"),
    ("peak RSS, ingest", lambda r: _mb(get(r, "ingest", "peak_rss_mb")), None),
    ("peak RSS, stock ingest", lambda r: _mb(get(r, "stock_ingest", "peak_rss_mb")), None),
    ("peak RSS, answering", lambda r: _mb(get(r, "answering", "peak_rss_mb")), "rss"),
    ("answers identical to the seed-only index", _same, "identical"),
    ("same answer, or declined by both (the decline names other sections)", _same_decision, None),
    ("the same answers in every run", _stable, None),
    ("cold start: `sourceqa ask` on the seed (median)", lambda r: _s(get(r, "cold_start", "median_s")),
     "cold_start"),
]


def table(results: dict) -> list[str]:
    """One row per measure, one column per library, then the target and whether it was met."""
    cols = columns(results)
    goals = targets(results)
    header = ["measure", *(label if label == "seed" else f"{int(label):,}" for label, _ in cols),
              "target / met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, cell, goal in ROWS:
        lines.append("| " + " | ".join([name, *(cell(row) for _, row in cols),
                                        goals[goal] if goal else ""]) + " |")
    return lines


def _sources(results: dict) -> list[str]:
    cols = columns(results)
    sources = get(cols[-1][1], "corpus", "sources") if cols else None
    if not sources:
        return []
    name = cols[-1][0] if cols[-1][0] == "seed" else f"{int(cols[-1][0]):,} chunks"
    lines = [f"Sources of the largest library ({name}):", "",
             "| source | licence | documents | chunks |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {s['licence']} | {s['documents']:,} | {s['chunks']:,} |"
              for name, s in sources.items()]
    return [*lines, ""]


def _short(text: str, width: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= width else text[:width - 3] + "..."


def _said(answer: dict) -> str:
    return ("declined: " if answer.get("abstained") else "answered: ") + _short(str(answer.get("text", "")))


def _parts(answer: dict) -> list[str]:
    """An answer's sentences, without their citation marks."""
    return [p.strip() for p in MARKER_GROUP.split(str(answer.get("text", ""))) if p.strip()]


def _change(ours: dict, theirs: dict) -> str:
    """What one answer says that the other does not (both answered)."""
    mine, other = _parts(ours), _parts(theirs)
    dropped = [_short(p, 110) for p in mine if p not in other]
    added = [_short(p, 110) for p in other if p not in mine]
    return "; ".join([*(f"drops \"{p}\"" for p in dropped), *(f"adds \"{p}\"" for p in added)]) or \
        "the same sentences, cited differently"


def _differences(results: dict) -> list[str]:
    """Per library, how its answers differ from the seed-only index's; each that is not
    just a decline worded differently is shown beside the seed-only index's."""
    lines: list[str] = []
    seed = {a.get("id"): a for a in get(results.get("sizes", {}).get("seed"), "answering", "answers") or []}
    for label, row in columns(results):
        same = get(row, "identical")
        if label == "seed" or not same or not same["differ"]:
            continue
        kinds = ", ".join(f"{n} {how}" for how, n in same.get("kinds", {}).items())
        lines.append(f"- {int(label):,} chunks: {kinds}.")
        answers = {a.get("id"): a for a in get(row, "answering", "answers") or []}
        for ident in same["differ"]:
            ours, theirs = seed.get(ident), answers.get(ident)
            if not ours or not theirs or kind(ours, theirs) == WORDED_DIFFERENTLY:
                continue
            if kind(ours, theirs) == ANSWER_CHANGED:
                lines.append(f"  - `{ident}` ({ours.get('question', '')}) the library's answer "
                             f"{_change(ours, theirs)}")
            else:
                lines.append(f"  - `{ident}` ({ours.get('question', '')}) seed only: {_said(ours)} "
                             f"| library: {_said(theirs)}")
    return ["Answers that differ from the seed-only index's:", "", *lines, ""] if lines else []


# (measure, cell) of the before/after table: the same measures as ROWS, without targets
BEFORE_AFTER = [(name, cell) for name, cell, _ in ROWS if name not in ("chunks", "documents")]


def same_corpus(one: dict, other: dict) -> bool:
    """Whether two runs measured the same library: equal file digests, or (a run without
    them) equal chunk, document and per-source counts."""
    a, b = one.get("corpus") or {}, other.get("corpus") or {}
    if a.get("digest") and b.get("digest"):
        return a["digest"] == b["digest"]
    return all(a.get(k) == b.get(k) for k in ("chunks", "documents", "sources"))


def before_after(results: dict, baseline: dict | None) -> list[str]:
    """The libraries both runs measured, each cell "before -> now"; [] without a baseline."""
    if not baseline:
        return []
    theirs = dict(columns(baseline))
    shared = [(label, row) for label, row in columns(results)
              if label in theirs and same_corpus(theirs[label], row)]
    if not shared:
        return []
    labels = [label if label == "seed" else f"{int(label):,}" for label, _ in shared]
    lines = [(f"Before and after, on the libraries both runs built from the same files: "
              f"{baseline.get('label', 'baseline')} (commit {str(baseline.get('commit', '?'))[:12]}, measured "
              f"{get(baseline, 'machine', 'date') or '?'} on {get(baseline, 'machine', 'cpu') or '?'}) -> this run "
              f"(on {get(results, 'machine', 'cpu') or '?'}). Each cell is before -> now."), "",
             "| measure | " + " | ".join(labels) + " |", "|" + " --- |" * (len(labels) + 1)]
    for name, cell in BEFORE_AFTER:
        cells = [f"{cell(theirs[label])} -> {cell(row)}" for label, row in shared]
        if any(c != "- -> -" for c in cells):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    agree = [compare(get(theirs[label], "answering", "answers") or [], get(row, "answering", "answers") or [])
             for label, row in shared]
    lines.append("| answers identical between the two runs (same library) | "
                 + " | ".join(f"{c['identical']}/{c['total']}" for c in agree) + " |")
    return [*lines, ""]


def section(results: dict, baseline: dict | None = None) -> str:
    """The "## Real library" markdown section (without the markers); ``baseline``: the
    results of an older checkout on the same corpora, shown before and after."""
    m = results.get("machine", {})
    lines = [
        "## Real library", "",
        (f"Measured {m.get('date', '?')} on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
         f"{m.get('memory_gb', '?')} GB; Python {m.get('python', '?')}; commit {results.get('commit', '?')} "
         f"({results.get('label', '?')}); {results.get('cases', '?')} curated questions answered with the "
         f"extractive backend; re-ingest, answering and cold start over {results.get('runs', '?')} run(s)"
         f"{' (`--quick`)' if results.get('quick') else ''}; "
         f"{results.get('seconds', 0) / 60:.1f} minutes in all."), "",
        ("Each library holds the seed article among real text: Debian's documentation packages "
         "and the public datasets of ../shared/data when present, interleaved, counted in chunks "
         "with the product's own cleaning and chunking (`python -m bench.library.corpus`). Every "
         "measure is a fresh process; latencies leave out the first answer. Reproduce: `make "
         "bench-library` (or `python -m bench.library [--quick]`); raw numbers: `bench/library.json`."),
        "", *table(results), "", *before_after(results, baseline), *_differences(results), *_sources(results),
        "![answer latency and peak memory against library size](library.svg)", "",
    ]
    return "\n".join(lines)


def markers(name: str = "library") -> tuple[str, str]:
    """The two comments around a section that a bench rewrites in RESULTS.md.

    >>> markers("papers")
    ('<!-- papers:begin -->', '<!-- papers:end -->')
    """
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


# Every marked section of RESULTS.md, carried over when bench.run rewrites the file: the
# library's and the papers' (their benches rewrite them) and "notes" (written by hand).
SECTIONS = ("library", "papers", "notes")


def replace_section(text: str, body: str, name: str = "library") -> str:
    """``text`` with the part between the markers of section ``name`` replaced by
    ``body`` (markers and body appended at the end when the markers are absent); the
    rest is kept byte for byte."""
    begin, end_marker = markers(name)
    block = f"{begin}\n{body.rstrip()}\n{end_marker}"
    start, end = text.find(begin), text.find(end_marker)
    if start != -1 and end > start:
        return text[:start] + block + text[end + len(end_marker):]
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"


def marked_section(text: str, name: str = "library") -> str | None:
    """The body between section ``name``'s markers, or None."""
    begin, end_marker = markers(name)
    start, end = text.find(begin), text.find(end_marker)
    return text[start + len(begin):end].strip("\n") if start != -1 and end > start else None


def keep_section(old: str, new: str) -> str:
    """``new`` (a freshly rendered RESULTS.md) with each of ``old``'s marked sections
    (:data:`SECTIONS`) carried over."""
    for name in SECTIONS:
        body = marked_section(old, name)
        if body is not None and marked_section(new, name) is None:
            new = replace_section(new, body, name)
    return new
