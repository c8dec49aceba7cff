"""A black-box attack on any checkout of sourceqa (issue 13): tries, and failures seen.

    cd /work/main && .venv/bin/python -m bench.attack --repo DIR --out FILE.json [--only 1,3,10]

The product is launched *from* ``--repo`` (its CLI in subprocesses with ``cwd`` and
``PYTHONPATH`` there, run by this interpreter), never imported here, so the same script
measures an old commit (a ``git worktree``) and the current tree alike. Each run gets its
own temporary home (``SOURCEQA_HOME``), a copy of the repo's ``corpus/``, the extractive
backend, a free port, offline model loading, and a fresh temporary folder as the server's
working directory; every process it starts is killed at the end, on Ctrl-C too.

Each attack is a list of *tries*; a try *fails* when the defect it looks for is observed
(the docstring of each ``attack_*`` function says exactly when). The JSON written to
``--out`` is ``{"repo", "commit", "attacks": [{"attack", "tries", "failures",
"examples"}]}``; an attack that could not run has an ``"error"`` field instead of a crash.
A markdown table ``| attack | tries | failures |`` is printed at the end; progress goes to
stderr. One run takes about 6 to 10 minutes on 2 cores.

Versions differ in their internals; the script depends only on the CLI (``ingest``,
``ask --json``, ``serve --port``), the HTTP API, the settings both versions know, the
index layout (``CURRENT``, ``manifest.json``), and three Python entry points named by the
issue: ``qa.llms.packaged_smollm2``, ``core.text.split_sentences`` and
``app.web.ChatSession(...).status()``.
"""

from __future__ import annotations

from .run import ATTACKS, ORDER, attack_repo, main, table

__all__ = ["ATTACKS", "ORDER", "attack_repo", "main", "table"]
