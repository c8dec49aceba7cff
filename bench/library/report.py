"""``python -m bench.library.report``: rewrite the "Real library" section of
bench/RESULTS.md (between ``<!-- library:begin -->`` and ``<!-- library:end -->``, appended
when absent) and bench/library.svg from bench/library.json; the rest of RESULTS.md is kept.

    python -m bench.library.report [--results bench/library.json] [--out bench/RESULTS.md]
                                   [--baseline bench/library-before.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import BENCH
from .plot import plot_svg
from .render import replace_section, section

BASELINE = BENCH / "library-before.json"  # python -m bench.library --repo <older checkout> --label before


def update(results_file: Path, markdown: Path | None = None, svg: Path | None = None,
           baseline: Path | None = None) -> None:
    """The section of ``markdown`` and the plot ``svg`` from the results in ``results_file``,
    beside ``baseline``'s (default bench/library-before.json, when there is one)."""
    markdown = markdown or BENCH / "RESULTS.md"
    svg = svg or results_file.with_suffix(".svg")
    results = json.loads(results_file.read_text(encoding="utf-8"))
    baseline = baseline or (BASELINE if BASELINE.exists() else None)
    before = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    old = markdown.read_text(encoding="utf-8") if markdown.exists() else ""
    markdown.write_text(replace_section(old, section(results, before)), encoding="utf-8")
    svg.write_text(plot_svg(results), encoding="utf-8")
    print(f"bench.library: wrote the Real library section of {markdown} and {svg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library.report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=BENCH / "library.json")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--svg", type=Path, help="the plot (default: the results' name, .svg)")
    parser.add_argument("--baseline", type=Path, help="an older checkout's results, shown before and "
                        "after (default: bench/library-before.json when present)")
    args = parser.parse_args(argv)
    update(args.results, args.out, args.svg, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
