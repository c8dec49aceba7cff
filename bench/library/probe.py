"""One measurement in a fresh process, through the product's public API only: ingest a
corpus, or answer every curated question; writes JSON with the process's peak RSS.

Run by path, not as a module, with ``PYTHONPATH`` and the working directory set to the
checkout under test, so an older checkout (one without bench/library) is measured by the
same probe:

    python bench/library/probe.py ingest --corpus DIR --index DIR [--home DIR] --out FILE
    python bench/library/probe.py answer --corpus DIR --index DIR [--home DIR] --cases FILE --out FILE
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The script's own folder comes first on sys.path: drop it, so nothing here shadows a
# module the product (or a library it loads) imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def cpu_s() -> float:
    """CPU seconds this process has used (user and system): steadier than wall time on shared cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def settings_for(corpus: Path, index: Path, home: Path | None):
    """The product's settings for this corpus and index; ``home`` (where an interrupted
    ingest keeps what it embedded, and logs) when given, so runs never share one."""
    from core.settings import load_settings

    extra = {"home": home} if home else {}
    return load_settings(corpus_dir=corpus, index_dir=index, llm="extractive", **extra)


def run_ingest(corpus: Path, index: Path, home: Path | None) -> dict:
    began = time.perf_counter()
    from ingest import ingest

    imported = time.perf_counter() - began
    report = ingest(settings_for(corpus, index, home), corpus_dir=corpus, index_dir=index, progress=False)
    return {"chunks": report.chunks, "documents": getattr(report, "documents", None),
            "embedded": report.embedded, "reused": report.reused, "unchanged": report.unchanged,
            "seconds": report.seconds, "import_s": imported, "peak_rss_mb": peak_rss_mb(), "cpu_s": cpu_s(),
            "product": str(Path(sys.modules["ingest"].__file__).parent.parent)}


def slim(case: dict, answer, seconds: float) -> dict:
    """What the comparison needs of an answer: its text, whether it abstained, what it cites."""
    data = answer.to_dict()
    citations = [[c.get("source"), c.get("start"), c.get("end")] for c in data.get("citations", [])]
    return {"id": case.get("id"), "question": case["question"], "seconds": seconds,
            "text": data.get("text", ""), "abstained": bool(data.get("abstained")),
            "citations": citations}


def run_answer(corpus: Path, index: Path, home: Path | None, cases_file: Path) -> dict:
    began = time.perf_counter()
    from qa import ask

    imported = time.perf_counter() - began
    settings = settings_for(corpus, index, home)
    cases = [json.loads(line) for line in cases_file.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    answers = []
    for case in cases:
        start = time.perf_counter()
        answer = ask(case["question"], llm="extractive", settings=settings)
        answers.append(slim(case, answer, time.perf_counter() - start))
    return {"answers": answers, "import_s": imported, "peak_rss_mb": peak_rss_mb(),
            "product": str(Path(sys.modules["qa"].__file__).parent.parent)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["ingest", "answer"])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--home", type=Path, help="the product's home folder for this run")
    parser.add_argument("--cases", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.mode == "ingest":
        result = run_ingest(args.corpus, args.index, args.home)
    else:
        result = run_answer(args.corpus, args.index, args.home, args.cases)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
