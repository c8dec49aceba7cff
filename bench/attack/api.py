"""The attack on the Python API: 11."""

from __future__ import annotations

import json

from .client import Context
from .harness import Tally, short

# -- 11. python API types -------------------------------------------------------------------
PYTHON_API = r"""
import json
from core.settings import load_settings
from qa import ask

settings = load_settings()

def history():
    yield "What is calcinosis cutis?"

class Bad:
    name = "bad"
    def stream(self, messages):
        raise RuntimeError("the backend fails at once")

cases = [("llm=123", {"llm": 123}), ("llm=b'local'", {"llm": b"local"}), ("llm=object()", {"llm": object()}),
         ("history=<generator>", {"history": history()}), ("history={'a': 1}", {"history": {"a": 1}}),
         ("history=7", {"history": 7}), ("llm=<backend whose stream() raises RuntimeError>", {"llm": Bad()})]
for label, kwargs in cases:
    try:
        answer = ask("What is calcinosis cutis?", settings=settings, **kwargs)
        outcome = {"raised": None, "abstained": answer.abstained, "text": answer.text[:100], "note": answer.note}
    except Exception as error:
        outcome = {"raised": type(error).__name__, "value_error": isinstance(error, ValueError),
                   "message": str(error)[:150]}
    print("RESULT " + json.dumps([label, outcome]), flush=True)
"""


def attack_python_api(t: Tally, ctx: Context) -> None:
    """``qa.ask`` with a wrong-typed ``llm`` or ``history``: fails unless it raises ValueError
    (another exception, or an answer as if the value were fine); with a backend whose
    stream() raises at once: fails when ask raises (it must fall back to the source text)."""
    done = ctx.product.python(PYTHON_API, ctx.env, timeout=300)
    results = [json.loads(line[7:]) for line in done.out.splitlines() if line.startswith("RESULT ")]
    if not results:
        raise RuntimeError(f"the Python API run printed nothing (rc={done.rc}): {short(done.err[-300:])}")
    for label, outcome in results:
        raised = outcome["raised"]
        described = (f"raised {raised}: {outcome['message']}" if raised
                     else f"returned an answer (abstained={outcome['abstained']}, note={outcome['note']!r})")
        if label.startswith("llm=<backend"):
            t.check(raised is not None, f"ask({label}) {described}")
        else:
            t.check(not outcome.get("value_error"), f"ask({label}) {described}")
    if done.rc != 0 and len(results) < 7:
        t.notes.append(f"the run stopped early (rc={done.rc}): {short(done.err[-200:])}")
