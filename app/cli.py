"""The ``sourceqa`` command: a thin shell over the ingest and qa Python APIs."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _settings(args: argparse.Namespace):
    from core.settings import load_settings

    return load_settings(corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None),
                         llm=getattr(args, "llm", None), top_k=getattr(args, "top_k", None),
                         host=getattr(args, "host", None), port=getattr(args, "port", None))


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import ingest

    report = ingest(_settings(args), progress=sys.stderr.isatty())
    if args.files:
        for line in report.file_lines():
            print(line)
    print(report.summary())
    return 0


def _answer_one(question: str, args: argparse.Namespace, settings, history: list[str] | None = None):
    from qa import ask

    answer = ask(question, settings=settings, history=history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        if answer.standalone and answer.standalone != answer.question:
            print(f"(answered as: {answer.standalone})")
        print(answer.to_text())
    return answer


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.question is not None:
        _answer_one(args.question, args, settings)
        return 0
    print(f"sourceqa: ask about the corpus in {settings.corpus_dir} (backend: {settings.llm}); "
          "follow-up questions build on the earlier ones, 'new' starts over, an empty line or "
          "Ctrl-D quits.")
    history: list[str] = []  # the conversation's questions as typed, oldest first (like the chat)
    while True:
        try:
            question = input("question> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        if question.lower() == "new":
            history = []
            print("(new conversation)")
            continue
        try:
            _answer_one(question, args, settings, history)
            history.append(question)
        except ValueError as error:
            print(f"error: {error}")
        print()


def cmd_prepare(args: argparse.Namespace) -> int:
    from qa import prepare

    for line in prepare(_settings(args)):
        print(f"ready: {line}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from app.serve import serve

    settings = _settings(args)
    serve(settings)
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from app.feedback import draft_cases, feedback_store

    settings = _settings(args)
    store = feedback_store(settings)
    drafts = draft_cases(store.entries())
    out = args.out or Path(settings.home) / "feedback_drafts.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), "utf-8")
    os.replace(tmp, out)
    print(f"{len(drafts)} down-voted answer(s) from {store.path} written to {out} as draft eval cases; "
          "complete them (answerable, gold_answer, key_facts, evidence), then append them to "
          "evals/data/cases.jsonl and run `python -m evals.validate`.")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals import run_from_args

    return run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sourceqa",
        description="Answer questions only from a source text, citing the exact passage of every sentence.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="build or update the index from the corpus folder")
    ingest.add_argument("--corpus", type=Path, help="corpus folder of .txt, .md, .html, .pdf and "
                        ".docx files (default: setting corpus_dir)")
    ingest.add_argument("--index", type=Path, help="index folder (default: <home>/index)")
    ingest.add_argument("--files", action="store_true", help="print one line per corpus file: its "
                        "sections, chunks and sentences, or why it gave no text")
    ingest.set_defaults(run=cmd_ingest)

    ask = commands.add_parser("ask", help="answer a question (no question: interactive prompt)")
    ask.add_argument("question", nargs="?", help="the question; omit for an interactive prompt")
    ask.add_argument("--llm", help="backend: local, gguf:/path/model.gguf, openai or extractive")
    ask.add_argument("--top-k", type=int, dest="top_k", help="passages to retrieve")
    ask.add_argument("--index", type=Path, help="index folder (default: <home>/index)")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.set_defaults(run=cmd_ask)

    prepare = commands.add_parser("prepare", help="load the embedder and the judge once (exporting "
                                  "them to ONNX on first use), so the first question is fast")
    prepare.set_defaults(run=cmd_prepare)

    serve = commands.add_parser("serve", help="start the web chat and HTTP API (default http://127.0.0.1:7860)")
    serve.add_argument("--host", help="address to bind (default: setting host, 127.0.0.1; anything else "
                       "exposes the service to the network)")
    serve.add_argument("--port", type=int, help="port (default: setting port, 7860)")
    serve.add_argument("--llm", help="default backend: local, gguf:/path/model.gguf, openai or extractive")
    serve.add_argument("--index", type=Path, help="index folder (default: <home>/index)")
    serve.set_defaults(run=cmd_serve)

    feedback = commands.add_parser("feedback", help="work with the feedback users gave in the web chat")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_commands.add_parser(
        "export", help="write down-voted answers as draft eval cases (question plus what was wrong)")
    export.add_argument("--out", type=Path, help="output JSONL (default: <home>/feedback_drafts.jsonl)")
    export.set_defaults(run=cmd_feedback_export)

    evaluate = commands.add_parser(
        "eval", help="score backends on the curated Q&A set (or, with --corpus, a SQuAD-format "
        "set) and write reports")
    evaluate.add_argument("--llm", action="append", help="backend to evaluate (repeatable; default: "
                          "extractive and local; with --corpus: extractive)")
    evaluate.add_argument("--set", type=Path, dest="cases", metavar="JSONL", help="cases file (JSONL; with --corpus: "
                          "a SQuAD-format qa.jsonl such as evals/data/squad2/qa.jsonl)")
    evaluate.add_argument("--corpus", type=Path, metavar="DIR", help="the SQuAD-format set's article folder: indexed "
                          "apart under <out>/index and scored by evals/squad.py")
    evaluate.add_argument("--sample", type=int, metavar="N", help="with --corpus: only N questions, a "
                          "seeded sample stratified by article and answerable")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of --sample (default: 0)")
    evaluate.add_argument("--out", type=Path, help="output folder (default: <home>/evals; with "
                          "--corpus: <home>/evals/squad2)")
    evaluate.add_argument("--check", action="store_true", help="exit 1 when a metric is below "
                          "evals/thresholds.json (its 'squad2' entry with --corpus)")
    evaluate.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"),
                          help="compare two report.json files instead of running")
    evaluate.set_defaults(run=cmd_eval)
    return parser


# Errors of writing (rather than of finding or reading) a file.
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG})


def describe_os_error(error: OSError) -> str:
    """One line for a file system error: what could not be done to which path, and why.

    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "/data/index"))
    'cannot write /data/index: no space left on device'
    """
    reason = error.strerror or str(error) or type(error).__name__
    reason = reason[:1].lower() + reason[1:]
    if error.filename is None:
        return " ".join(reason.split())
    verb = "write" if error.errno in _WRITE_ERRORS else "use"
    return " ".join(f"cannot {verb} {error.filename}: {reason}".split())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from core.settings import SettingsError
    from ingest import CorpusError, IndexProblem

    try:
        return args.run(args)
    except (SettingsError, CorpusError, IndexProblem, ValueError) as error:
        print(f"sourceqa: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only or forbidden folder: no traceback
        print(f"sourceqa: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
