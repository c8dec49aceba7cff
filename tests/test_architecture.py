"""The house rules of docs/architecture.md, enforced: who may import whom, through which
door, and how long a module may grow."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A stage may import the stages listed for it, and nothing else of ours.
MAY_IMPORT = {
    "core": set(),
    "ingest": {"core"},
    "judge": {"core"},
    "qa": {"core", "ingest", "judge"},
    "evals": {"core", "ingest", "judge", "qa"},
    "app": {"core", "ingest", "judge", "qa", "evals"},
    "judge_training": {"core", "ingest", "judge", "qa"},
}
# core is the shared vocabulary: any of its modules may be imported. Another stage is
# entered only through its package (``from qa import ask``), never a module inside it.
OPEN = {"core"}
MAX_LINES = 300


def _modules(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def _public(package: str, root: Path = ROOT) -> set[str]:
    """The names a package's ``__init__`` lists in ``__all__``."""
    tree = ast.parse((root / package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every absolute import in a file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def violations(package: str, root: Path = ROOT) -> list[str]:
    problems = []
    for path in _modules(package, root):
        where = path.relative_to(root)
        for module, names, line in imports(path):
            stage = module.split(".")[0]
            if stage not in MAY_IMPORT or stage == package:
                continue
            if stage not in MAY_IMPORT[package]:
                problems.append(f"{where}:{line}: {package} may not import {stage} ({module})")
            elif stage not in OPEN and module != stage:
                problems.append(f"{where}:{line}: imports {module}; use `from {stage} import ...`")
            elif stage not in OPEN:
                hidden = sorted(set(names) - _public(stage, root))
                if hidden:
                    problems.append(f"{where}:{line}: {', '.join(hidden)} not in {stage}.__all__")
    return problems


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_stage_imports_only_what_it_may_and_only_through_the_front_door(package):
    assert violations(package) == []


def test_the_rule_catches_a_stage_reaching_up_or_in(tmp_path):
    """The checker itself: ingest importing qa, app reaching into ingest's storage and
    evals importing a name qa does not publish are all reported; the front door is not."""
    files = {"ingest/m.py": "from qa import ask\n", "app/m.py": "from ingest.storage import x\nfrom qa import ask\n",
             "evals/m.py": "def f():\n    from qa import _private\n", "qa/__init__.py": "__all__ = ['ask']\n"}
    for package in MAY_IMPORT:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("__all__ = []\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert violations("ingest", tmp_path) == ["ingest/m.py:1: ingest may not import qa (qa)"]
    assert violations("app", tmp_path) == ["app/m.py:1: imports ingest.storage; use `from ingest import ...`"]
    assert violations("evals", tmp_path) == ["evals/m.py:2: _private not in qa.__all__"]


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_every_module_stays_small(package):
    long = {str(p.relative_to(ROOT)): n for p in _modules(package)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: {long}"


def test_the_architecture_doc_names_every_module_and_only_real_ones():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = [str(path.relative_to(ROOT)) for package in MAY_IMPORT for path in _modules(package)
               if path.name != "__init__.py"
               and not any(f"{mark}{path.stem}{end}" in doc for mark in ("`", "/")
                           for end in ("`", ".py", ".", "/"))]
    assert unnamed == [], f"docs/architecture.md does not say what these are for: {unnamed}"
    named = re.findall(r"`((?:core|ingest|judge|judge_training|qa|app|evals)/[\w/]+\.py)`", doc)
    assert named and [n for n in named if not (ROOT / n).is_file()] == []
