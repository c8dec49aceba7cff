"""The real-library benchmark: the product measured on a library of real text at about
1k, 10k and 100k chunks (issue 17).

* ``corpus``: builds the corpus folders (``python -m bench.library.corpus``) from the
  ``sources`` that ``debian`` (documentation packages) and ``shared_data`` (../shared/data)
  give, in the order and sizes ``assemble`` decides by counting chunks as the ingest does;
* ``probe``: the child process that ingests or answers through the product's public API;
* ``measure``: runs the probes and the CLI in fresh processes; ``compare``: answers
  against the seed-only index; ``__main__``: the runner (``python -m bench.library``);
* ``render`` and ``plot``: the "Real library" section of bench/RESULTS.md and
  bench/library.svg; ``report`` rewrites both (``python -m bench.library.report``).
"""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
CACHE = BENCH / ".cache" / "library"
SIZES = (1_000, 10_000, 100_000)
