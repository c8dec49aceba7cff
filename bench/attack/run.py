"""The run: the attacks in order, the servers they share, the report and the CLI."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .api import attack_python_api
from .client import MAIN_SETTINGS, Client, Context, Server
from .files import attack_hostile_files
from .harness import TOKEN, Product, Tally, kill_all, run, say, short
from .index import attack_document_loss, attack_file_names, attack_index_damage, attack_ingest_cost
from .server import (
    attack_body_limit,
    attack_gradio_calls,
    attack_gradio_files,
    attack_host_and_cors,
    attack_model_loading,
    attack_schemathesis,
    attack_smaller_items,
)

# -- the run --------------------------------------------------------------------------------
ATTACKS: list[tuple[str, Callable[[Tally, Context], None], bool]] = [  # (name, function, needs server)
    ("model loading", attack_model_loading, True),
    ("body limit", attack_body_limit, True),
    ("host header and CORS", attack_host_and_cors, True),
    ("gradio file routes", attack_gradio_files, True),
    ("index damage", attack_index_damage, True),
    ("document loss", attack_document_loss, False),
    ("ingest cost", attack_ingest_cost, False),
    ("file names as HTML", attack_file_names, False),
    ("gradio malformed calls", attack_gradio_calls, True),
    ("smaller items", attack_smaller_items, True),
    ("python API types", attack_python_api, False),
    ("schemathesis", attack_schemathesis, True),
    ("hostile files", attack_hostile_files, False),  # its upload names need the server; the rest do not
]
# Cheap and harmless first; the 6 model loads and 200 generated asks later; damage last.
ORDER = [3, 4, 9, 10, 2, 1, 12, 11, 13, 5, 6, 7, 8]


def perform(number: int, ctx: Context) -> dict:
    name, function, needs_server = ATTACKS[number - 1]
    tally = Tally(name)
    say(f"attack {number}: {name}")
    began = time.monotonic()
    try:
        if needs_server and ctx.client is None:
            raise RuntimeError("the server did not start")
        function(tally, ctx)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - one attack's crash is its result, not the run's
        tally.error = f"{type(error).__name__}: {short(error, 400)}"
        say(f"  error: {tally.error}")
    tally.seconds = time.monotonic() - began
    return tally.as_dict()


def setup(product: Product) -> Context:
    """The home, corpus and environment of the main server, and the token server's."""
    home, corpus = product.folder("home"), product.corpus_copy()
    gradio_temp = product.folder("gradio-temp")
    env = {**product.env(home, corpus, **MAIN_SETTINGS), "GRADIO_TEMP_DIR": str(gradio_temp)}
    ctx = Context(product, home=home, corpus=corpus, env=env)
    ctx.server = Server(product, env, "main")
    token_home = product.folder("token-home")
    unwritable = product.folder("feedback-is-a-folder")
    token_env = {**product.env(token_home, corpus, **MAIN_SETTINGS, api_token=TOKEN,
                               feedback_file=str(unwritable)),
                 "GRADIO_TEMP_DIR": str(gradio_temp)}
    ctx.token_server = Server(product, token_env, "token")
    return ctx


def check_imports(product: Product, ctx: Context) -> str:
    """Where `app` is imported from in the server's setting; must be the checkout."""
    done = run([sys.executable, "-c", "import app, qa; print(app.__file__)"], cwd=ctx.server.cwd,
               env=ctx.env, timeout=60)
    where = done.out.strip()
    if not where or not Path(where).resolve().is_relative_to(product.repo.resolve()):
        raise SystemExit(f"attack: `app` imports from {where or done.err[-300:]!r}, not from {product.repo}")
    return where


def start_main_server(ctx: Context) -> None:
    ctx.server.start(ready=lambda reply: reply.status == 200)
    client = Client(ctx.server.port)
    warm = client.ask(timeout=300)
    say(f"warm-up ask -> {warm.status}")
    if warm.status != 200:
        raise RuntimeError(f"warm-up ask -> {warm}")
    ctx.client = client
    # The token server serves a copy of this index, so that its start builds nothing.
    token_home = Path(ctx.token_server.env["SOURCEQA_HOME"])
    shutil.copytree(ctx.home / "index", token_home / "index", ignore=shutil.ignore_patterns(".lock"),
                    dirs_exist_ok=True)


def public_env(env: dict, product: Product) -> dict:
    """The settings a server ran with, temporary paths shortened for the report."""
    shown = {k: v for k, v in env.items() if k.startswith(("SOURCEQA_", "GRADIO_", "HF_", "TOKENIZERS"))}
    return {k: v.replace(str(product.work), "$TMP") for k, v in sorted(shown.items())}


def table(report: dict) -> str:
    lines = ["| attack | tries | failures |", "| --- | --- | --- |"]
    for item in report["attacks"]:
        error = short(item["error"], 60).replace("|", "/") if item.get("error") else ""
        failures = str(item["failures"]) + (f" (error: {error})" if error else "")
        lines.append(f"| {item['attack']} | {item['tries']} | {failures} |")
    total_tries = sum(item["tries"] for item in report["attacks"])
    total_failures = sum(item["failures"] for item in report["attacks"])
    lines.append(f"| **total** | **{total_tries}** | **{total_failures}** |")
    return "\n".join(lines)


def attack_repo(repo: Path, only: list[int], keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sourceqa-attack-"))
    product = Product(repo, work)
    began = time.monotonic()
    results: dict[int, dict] = {}
    report = {"repo": str(repo), "commit": product.commit(), "dirty": product.dirty(), "python": sys.executable}
    say(f"attacking {repo} at {report['commit']}{' (with uncommitted changes)' if report['dirty'] else ''}; "
        f"temporary files in {work}")
    try:
        ctx = setup(product)
        report["imports_from"] = check_imports(product, ctx)
        report["server_env"] = {"main": public_env(ctx.env, product),
                                "token (smaller items c, d)": public_env(ctx.token_server.env, product)}
        wanted = [n for n in ORDER if n in only]
        if any(ATTACKS[n - 1][2] for n in wanted) or 11 in wanted or 13 in wanted:
            try:
                start_main_server(ctx)
            except RuntimeError as error:
                say(f"error: {error}")
                report["server_error"] = short(error, 600)
        for number in wanted:
            if number in (6, 7, 8) and ctx.server.process is not None:
                ctx.server.stop()  # the CLI attacks need no server; give them the CPUs
            results[number] = perform(number, ctx)
    finally:
        kill_all()
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["attacks"] = [results[n] for n in sorted(results)]
    report["seconds"] = round(time.monotonic() - began)
    return report


def main(argv: list[str] | None = None) -> int:
    package_doc = sys.modules[__package__].__doc__  # the first paragraph of bench/attack/__init__.py
    parser = argparse.ArgumentParser(prog="python -m bench.attack", description=package_doc.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the checkout to attack")
    parser.add_argument("--out", type=Path, required=True, help="JSON report to write")
    parser.add_argument("--only", help="comma-separated attack numbers (1-13; default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, homes)")
    args = parser.parse_args(argv)
    only = [int(n) for n in args.only.split(",")] if args.only else list(range(1, len(ATTACKS) + 1))

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        report = attack_repo(args.repo.resolve(), only, args.keep)
    except KeyboardInterrupt:
        say("interrupted; every process started was killed")
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(table(report))
    say(f"wrote {args.out} after {report['seconds']} s")
    return 0
