"""The README says what the code does: its settings table's defaults are the Settings'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value) if value else "empty"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,g}" if isinstance(value, float) else f"{value:,}"
    return str(value) if value != "" else "empty"


def _rows() -> list[tuple[str, str]]:
    """(field, default as written) for table rows naming one SOURCEQA_ variable."""
    rows = []
    for line in README.splitlines():
        match = re.match(r"\|\s*`SOURCEQA_([A-Z_]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if match:
            rows.append((match.group(1).lower(), match.group(2).replace("`", "").strip()))
    return rows


def test_the_readme_documents_settings_that_exist():
    rows = _rows()
    assert len(rows) >= 15
    assert [name for name, _ in rows if name not in Settings.model_fields] == []


@pytest.mark.parametrize("name, written", [r for r in _rows() if r[0] in Settings.model_fields])
def test_the_readme_defaults_are_the_settings_defaults(name, written):
    default = Settings.model_fields[name].default
    if default is None or isinstance(default, Path):
        pytest.skip(f"{name}: a path or derived default, described in words")
    expected = _cell(default).replace(",", "") if isinstance(default, (int, float)) else _cell(default)
    written = written.replace(",", "") if isinstance(default, (int, float)) else written
    assert written == expected or written.startswith((expected + " ", f"{expected} (")), \
        f"README says {name} defaults to {written!r}; Settings says {expected!r}"


@pytest.mark.parametrize("variable, field", [("SOURCEQA_PG_HNSW_MIN_ROWS", "pg_hnsw_min_rows"),
                                             ("SOURCEQA_ANN_MIN_VECTORS", "ann_min_vectors")])
def test_defaults_quoted_in_the_prose_are_the_settings(variable, field):
    quoted = re.search(rf"`{variable}`[^.]*?default ([\d,]+)", README, re.DOTALL)
    assert quoted, f"the README no longer quotes {variable}'s default"
    assert int(quoted.group(1).replace(",", "")) == Settings.model_fields[field].default


def test_the_readme_lists_each_setting_under_its_group():
    from core.settings import group_of

    heading, misplaced = "", []
    for line in README.split("## Settings", 1)[1].split("\n## ", 1)[0].splitlines():
        if line.startswith("### "):
            heading = line[4:].split(":")[0].lower()
        for name in re.findall(r"`SOURCEQA_([A-Z_]+)`", line.split("|")[1] if line.startswith("|") else ""):
            if name.lower() in Settings.model_fields and group_of(name.lower()) != heading:
                misplaced.append(f"{name} under {heading!r}, belongs to {group_of(name.lower())!r}")
    assert misplaced == []


def test_a_config_file_may_group_settings_and_a_misplaced_one_is_an_error(tmp_path):
    from core.settings import SettingsError, load_settings

    config = tmp_path / "config.toml"
    config.write_text('llm = "local"\n\n[retrieval]\ntop_k = 8\n\n[server]\nport = 9000\n')
    settings = load_settings({"SOURCEQA_CONFIG": str(config)})
    assert (settings.llm, settings.top_k, settings.port) == ("local", 8, 9000)
    config.write_text("[retrieval]\nport = 9000\n")
    with pytest.raises(SettingsError, match=r"port .* belongs in \[server\], not \[retrieval\]"):
        load_settings({"SOURCEQA_CONFIG": str(config)})
    config.write_text("[retrieval]\ntop_kk = 8\n")
    with pytest.raises(SettingsError, match="top_kk"):
        load_settings({"SOURCEQA_CONFIG": str(config)})
