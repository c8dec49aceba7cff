"""bench/RESULTS.md and the scale plot from the numbers of one ``bench.run``."""

from __future__ import annotations

import math
from html import escape

from core.settings import Settings


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "-"
    return f"{ours / theirs:.2f}x"


def _fraction(part: int, whole: int) -> str:
    return f"{part}/{whole}"


def ratio_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(measure, sourceqa, baseline, sourceqa / baseline) rows of the summary table."""
    ours, theirs = r["sourceqa"], r["baseline"]
    cold_o, cold_t = r["cold_ingest"]["sourceqa"], r["cold_ingest"]["baseline"]
    rows = [
        ("ingest, cold process (median)", _s(cold_o["median"]), _s(cold_t["median"]),
         _ratio(cold_o["median"], cold_t["median"])),
        ("ingest, warm (median)", _s(ours["ingest_warm"]["median"]), _s(theirs["ingest_warm"]["median"]),
         _ratio(ours["ingest_warm"]["median"], theirs["ingest_warm"]["median"])),
        ("chunks per second, warm", f"{ours['ingest_warm']['chunks_per_s']:.1f} ({ours['ingest_warm']['chunks']} chunks)",
         f"{theirs['ingest_warm']['chunks_per_s']:.1f} ({theirs['ingest_warm']['chunks']} chunks)",
         _ratio(ours["ingest_warm"]["chunks_per_s"], theirs["ingest_warm"]["chunks_per_s"])),
        ("second ingest, corpus unchanged", _s(ours["ingest_unchanged"]["median"]),
         f"{_s(theirs['ingest_warm']['median'])} (rebuilds)",
         _ratio(ours["ingest_unchanged"]["median"], theirs["ingest_warm"]["median"])),
    ]
    for key, label in (("retrieval", "retrieval only"),
                       ("answer", "answer end to end, local model, all questions"),
                       ("answer_generated", "answer end to end, questions the model answered"),
                       ("first_token", ("time to the first text shown: sourceqa's first verified sentence, "
                                        "the baseline's first (unverified) token; questions the model answered"))):
        fmt = _ms if key == "retrieval" else _s
        for stat in ("median", "p95"):
            rows.append((f"{label} ({stat}, n={ours[key]['n']} / {theirs[key]['n']})" if key != "retrieval"
                     else f"{label} ({stat})", fmt(ours[key][stat]), fmt(theirs[key][stat]),
                     _ratio(ours[key][stat], theirs[key][stat])))
    if "first_model_token" in ours:
        for stat in ("median", "p95"):
            rows.append((f"sourceqa's model, first token (never shown; {stat})", _s(ours["first_model_token"][stat]),
                         "-", "-"))
    rows.append(("peak memory (RSS)", f"{ours['peak_rss_mb']:.0f} MB", f"{theirs['peak_rss_mb']:.0f} MB",
                 _ratio(ours["peak_rss_mb"], theirs["peak_rss_mb"])))
    fo, ft = ours["fidelity"], theirs["fidelity"]
    rows += [
        ("answers correct", _fraction(fo["correct"], fo["cases"]), _fraction(ft["correct"], ft["cases"]),
         _ratio(fo["correct"], ft["correct"])),
        ("  answerable questions answered correctly", _fraction(fo["answerable_correct"], fo["answerable"]),
         _fraction(ft["answerable_correct"], ft["answerable"]), _ratio(fo["answerable_correct"], ft["answerable_correct"])),
        ("  unanswerable questions declined", _fraction(fo["declined_correctly"], fo["unanswerable"]),
         _fraction(ft["declined_correctly"], ft["unanswerable"]), _ratio(fo["declined_correctly"], ft["declined_correctly"])),
        ("answerable: cites the gold evidence", _fraction(fo["cites_gold"], fo["answerable"]),
         _fraction(ft["cites_gold"], ft["answerable"]), _ratio(fo["cites_gold"], ft["cites_gold"])),
        ("shown sentences supported by what they cite",
         f"{fo['supported_sentences']:.0%}" if fo["supported_sentences"] is not None else "-",
         f"{ft['supported_sentences']:.0%}" if ft["supported_sentences"] is not None else "-",
         _ratio(fo["supported_sentences"], ft["supported_sentences"])),
    ]
    return rows


def default_probe(row: dict) -> dict:
    probes = row["ivf"]["by_nprobe"]
    return probes.get(str(Settings.model_fields["ann_nprobe"].default)) or next(iter(probes.values()))


def crossover(scale: list[dict]) -> str:
    """Where the approximate index starts to pay off, in words, from the scale rows."""
    paying = [row for row in scale if default_probe(row)["p95_ms"] < row["flat"]["p95_ms"] / 2
              and default_probe(row)["recall_at_10"] >= 0.95]
    if not paying:
        return "In this run the approximate index never halved the exact p95 at recall@10 >= 0.95."
    first = paying[0]["chunks"]
    below = [row["chunks"] for row in scale if row["chunks"] < first]
    return (f"The IVF index halves the exact index's p95 latency at recall@10 >= 0.95 from "
            f"{first:,} chunks on" + (f" (not yet at {below[-1]:,})" if below else "") + ".")


def targets(r: dict) -> list[tuple[str, str, str]]:
    ours, theirs = r["sourceqa"], r["baseline"]
    biggest = r["scale"][-1]
    probe = default_probe(biggest)
    speedup = theirs["answer_generated"]["median"] / ours["answer_generated"]["median"]

    def check(ok: bool) -> str:
        return "met" if ok else "**missed**"

    return [
        ("end-to-end answer, local model: median < 1.5 s", _s(ours["answer"]["median"]),
         check(ours["answer"]["median"] < 1.5)),
        (("first verified sentence no later than the baseline's first unverified token (median, questions "
          "the model answered)"), f"{_s(ours['first_token']['median'])} vs {_s(theirs['first_token']['median'])}",
         check(ours["first_token"]["median"] <= theirs["first_token"]["median"])),
        (">= 2x faster than the baseline end to end (questions the model answered, medians)",
         f"{speedup:.1f}x", check(speedup >= 2)),
        ("better fidelity than the baseline (answers correct)",
         f"{ours['fidelity']['correct']} vs {theirs['fidelity']['correct']} of {ours['fidelity']['cases']}",
         check(ours["fidelity"]["correct"] > theirs["fidelity"]["correct"])),
        ("retrieval only on the seed: median < 15 ms", _ms(ours["retrieval"]["median"]),
         check(ours["retrieval"]["median"] < 0.015)),
        ("retrieval at 1,000,000 chunks, approximate: p95 < 20 ms at recall@10 >= 0.95",
         f"{probe['p95_ms']:.1f} ms at recall {probe['recall_at_10']:.3f}" if biggest["chunks"] >= 1_000_000
         else f"not measured (largest: {biggest['chunks']:,})",
         check(probe["p95_ms"] < 20 and probe["recall_at_10"] >= 0.95) if biggest["chunks"] >= 1_000_000
         else "-"),
        ("ingest of the seed, warm: < 3 s", _s(ours["ingest_warm"]["median"]),
         check(ours["ingest_warm"]["median"] < 3)),
        ("second ingest, unchanged corpus: < 0.5 s", _s(ours["ingest_unchanged"]["median"]),
         check(ours["ingest_unchanged"]["median"] < 0.5)),
        ("peak memory serving the seed with the local model: < 1.5 GB", f"{ours['peak_rss_mb']:.0f} MB",
         check(ours["peak_rss_mb"] < 1536)),
    ]


def _table(header: list[str], rows: list) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def scale_rows(scale: list[dict]) -> list[list[str]]:
    rows = []
    for row in scale:
        probe = default_probe(row)
        rows.append([f"{row['chunks']:,}", f"{row['flat']['build_s']:.2f} s", f"{row['flat']['index_mb']:.0f} MB",
                     f"{row['flat']['p50_ms']:.2f} / {row['flat']['p95_ms']:.2f} ms",
                     row["ivf"]["kind"], f"{row['ivf']['build_s']:.2f} s", f"{row['ivf']['index_mb']:.0f} MB",
                     f"{probe['p50_ms']:.2f} / {probe['p95_ms']:.2f} ms", f"{probe['recall_at_10']:.3f}",
                     f"{row['peak_rss_mb']:.0f} MB"])
    return rows


def one_pass_lines(r: dict) -> list[str]:
    """The ingest with sentence vectors from each chunk's pass against every sentence embedded
    again (``bench.one_pass``); nothing for results written before it."""
    o = r.get("one_pass")
    if not o:
        return []
    rows = [[side, _s(o[key]["seconds"]), f"{o[key]['chunks_per_s']:.1f}", f"{o[key]['embedded']:,}"]
            for side, key in (("every sentence embedded again (before)", "alone"),
                              ("one pass per chunk", "one_pass"))]
    rows.append(["one pass against before", f"{o['speedup']:.2f}x faster", f"{o['speedup']:.2f}x as many",
                 f"{o['embedded_ratio']:.2f}x fewer"])
    return ["## Ingest: one pass per chunk", "",
            (f"Ingest from nothing of {', '.join(o['corpus'])} ({o['one_pass']['chunks']} chunks), median of "
             f"{o['repeats']}, one process with the embedder loaded (`python -m bench.one_pass`)."), "",
            *_table(["ingest", "seconds", "chunks per second", "texts embedded"], rows), ""]


def render(r: dict) -> str:
    m = r["machine"]
    ft = r["baseline"]["fidelity"]
    nprobe = Settings.model_fields["ann_nprobe"].default
    threshold = Settings.model_fields["ann_min_vectors"].default
    lines = [
        "# Benchmarks", "",
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, no GPU; "
        f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        (f"One run, {'`--tiny`' if r.get('tiny') else '`--quick`' if r['quick'] else 'full'}: "
        f"{r['cases']} curated questions answered end to end "
        f"by each side, ingest and retrieval (all 152 curated questions) repeated {r['repeats']} times; "
        f"{r['seconds'] / 60:.1f} minutes in all."), "",
        ("Reproduce: `make bench` (full, about 15 minutes) or `make bench-quick` (a few minutes), after "
        "`make test`; or `python -m bench.run [--quick]`. Raw numbers: `bench/results.json`."), "",
        ("**Baseline**: the llama-index quick start a user would write instead: `SimpleDirectoryReader` over "
        "`corpus/`, `VectorStoreIndex` on a FAISS store with the default chunking (1,024-token chunks), the same "
        "packaged embedder (all-MiniLM-L6-v2 through `HuggingFaceEmbedding`) and the same packaged GGUF model "
        "(SmolLM2-135M-Instruct through `LlamaCPP`, given the model's ChatML format, greedy, 120 new tokens), "
        "`as_query_engine(streaming=True)` (top 2 chunks). **sourceqa**: the product's defaults, `local` backend."),
        "", "## sourceqa against the baseline", "",
        *_table(["measure", "sourceqa", "baseline", "sourceqa / baseline"], ratio_rows(r)), "",
        ("Correctness is scored the same way for both: an answerable question is correct when the answer has "
        "every key fact of the curated case; an unanswerable one when the answer declines (the baseline has no "
        "abstention, so its wording is read). Citation correctness: whether what the answer cites (sourceqa: the "
        "quoted spans; baseline: its source chunks, a generous reading) contains the gold evidence, and the share "
        "of shown sentences that pass the evals' independent support test against what they cite."), "",
        ("Reading the table: warm ingest is slower than the baseline's because sourceqa also keeps a vector "
         "for every sentence (the verifier needs them), pooled from its chunk's pass; cold ingest is mostly process start and "
         "model loading in both. End to end, sourceqa's prompt holds 3 short evidence sentences where the "
         "baseline's holds two 1,024-token chunks, which the 2-core CPU reads slowly; questions it declines "
         "never reach the model. The baseline's fluent answers are the risk this product exists to remove: "
         f"it answered {ft['unanswerable'] - ft['declined_correctly']} of the {ft['unanswerable']} questions "
         "the source cannot answer."), "",
        *one_pass_lines(r),
        "## Targets", "",
        *_table(["target", "measured", ""], targets(r)), "",
        "## Scale: exact against approximate search", "",
        (f"Synthetic unit vectors in 384 dimensions around 2,000 centres (queries drawn alike), searched through "
        f"the product's `FaissDense`. Approximate: IVF with about sqrt(n) lists, nprobe {nprobe} (the "
        f"`ann_nprobe` setting). Latencies are p50 / p95 over 300 queries, top 10."), "",
        *_table(["chunks", "flat build", "flat index", "flat latency", "IVF", "IVF build", "IVF index",
                 "IVF latency", "recall@10", "process peak RSS"], scale_rows(r["scale"])), "",
        f"nprobe against recall at {r['scale'][-1]['chunks']:,} chunks:", "",
        *_table(["nprobe", "p50", "p95", "recall@10"],
                [[n, f"{v['p50_ms']:.2f} ms", f"{v['p95_ms']:.2f} ms", f"{v['recall_at_10']:.3f}"]
                 for n, v in sorted(r["scale"][-1]["ivf"]["by_nprobe"].items(), key=lambda kv: int(kv[0]))]), "",
        crossover(r["scale"]) + f" The product switches to IVF from `ann_min_vectors` = {threshold:,} chunks "
        "(a setting).", "",
        "![retrieval latency and index memory against corpus size](scale.svg)", "",
    ]
    return "\n".join(lines)


def real_library(results: dict) -> tuple[str, str]:
    """The "Real library" section (markdown) and its plot (SVG) from the results of
    ``python -m bench.library`` (bench/library.json); see bench/library/render.py."""
    from .library.plot import plot_svg
    from .library.render import section

    return section(results), plot_svg(results)


def scale_plot_svg(scale: list[dict]) -> str:
    """Two panels against corpus size (log scale): p95 latency, index memory; flat and IVF."""
    width, height, pad_left, pad_top, panel_w, panel_h, gap = 880, 340, 60, 50, 340, 220, 100
    sizes = [row["chunks"] for row in scale]
    low, high = math.log10(min(sizes)), math.log10(max(sizes))
    series = {
        "p95 latency (ms)": {"flat": [row["flat"]["p95_ms"] for row in scale],
                             "IVF": [default_probe(row)["p95_ms"] for row in scale]},
        "index memory (MB)": {"flat": [row["flat"]["index_mb"] for row in scale],
                              "IVF": [row["ivf"]["index_mb"] for row in scale]},
    }
    colours = {"flat": "#4c78a8", "IVF": "#f58518"}
    body = []
    for panel, (title, lines) in enumerate(series.items()):
        x0 = pad_left + panel * (panel_w + gap)
        top = max(max(values) for values in lines.values()) * 1.1 or 1

        def x(size: int, x0: float = x0) -> float:
            return x0 + (math.log10(size) - low) / ((high - low) or 1) * panel_w

        def y(value: float, top: float = top) -> float:
            return pad_top + panel_h - value / top * panel_h

        body.append(f'<text x="{x0}" y="{pad_top - 12}" font-weight="bold">{escape(title)}</text>')
        body.append(f'<line x1="{x0}" y1="{pad_top + panel_h}" x2="{x0 + panel_w}" y2="{pad_top + panel_h}" stroke="black"/>')
        body.append(f'<line x1="{x0}" y1="{pad_top}" x2="{x0}" y2="{pad_top + panel_h}" stroke="black"/>')
        body.append(f'<text x="{x0 - 6}" y="{pad_top + 4}" text-anchor="end">{top:.0f}</text>')
        body.append(f'<text x="{x0 - 6}" y="{pad_top + panel_h}" text-anchor="end">0</text>')
        for size in sizes:
            body.append(f'<text x="{x(size):.1f}" y="{pad_top + panel_h + 18}" text-anchor="middle">{size:,}</text>')
        for name, values in lines.items():
            points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(sizes, values))
            body.append(f'<polyline points="{points}" fill="none" stroke="{colours[name]}" stroke-width="2"/>')
            body += [f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3" fill="{colours[name]}"/>'
                     for s, v in zip(sizes, values)]
        body.append(f'<text x="{x0 + panel_w / 2}" y="{pad_top + panel_h + 38}" text-anchor="middle">chunks (log scale)</text>')
    for index, (name, colour) in enumerate(colours.items()):
        body.append(f'<rect x="{pad_left + index * 120}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{pad_left + index * 120 + 18}" y="{height - 12}">{name}</text>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    return "\n".join([head, '<rect width="100%" height="100%" fill="white"/>', *body, "</svg>"]) + "\n"
