"""The chat's Documents panel: every document of the library with a tick box (which
documents the next questions use), its facts, its suggested questions and a remove control.

The HTML is built here with every corpus-derived string escaped; the script
(:data:`PANEL_JS`, installed with the page's own) keeps the unticked documents' names in a
hidden textbox the chat's events read (``excluded``, a JSON list), asks a suggested
question on click, and removes a document through ``DELETE /api/documents/{source}``
after the user confirms, then clicks the chat's hidden refresh button.
"""

from __future__ import annotations

import json
from html import escape

from .library import DocumentInfo

__all__ = ["PANEL_JS", "excluded_sources", "library_html"]


def excluded_sources(value: object) -> set[str]:
    """The unticked documents, from the hidden textbox's JSON (anything else: none).

    >>> sorted(excluded_sources('["b.txt", "a.txt"]')), excluded_sources("junk"), excluded_sources(None)
    (['a.txt', 'b.txt'], set(), set())
    """
    try:
        names = json.loads(value) if isinstance(value, str) and value else []
    except ValueError:
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _facts(row: DocumentInfo) -> str:
    """File, pages, chunks and when added, in one line.

    >>> print(_facts(DocumentInfo("a.pdf", "A", 3, 2, 9, "2026-11-26T12:00:00Z")).replace("\\u00b7", "|"))
    a.pdf | 3 pages | 9 chunks | added 2026-11-26 12:00 UTC
    """
    parts = [row.source]
    if row.pages:
        parts.append(f"{row.pages} page{'s' if row.pages != 1 else ''}")
    parts.append(f"{row.chunks} chunk{'s' if row.chunks != 1 else ''}")
    if row.added:
        parts.append(f"added {row.added[:10]} {row.added[11:16]} UTC")
    return " \u00b7 ".join(parts)


def library_html(documents: list[DocumentInfo] | None, groups: dict[str, list[str]], refusal: str | None,
                 excluded: set[str], problem: str = "") -> str:
    """The panel: one row per document (tick box, title, facts, suggestions, remove)."""
    if documents is None:
        text = f"Index problem: {problem}" if problem else "No index yet: it is built on the first question."
        return f'<div class="sq-library sq-empty">{escape(text)}</div>'
    chosen = sum(1 for d in documents if d.source not in excluded)
    head = (f'<div class="sq-library-head">{chosen} of {len(documents)} document'
            f'{"s" if len(documents) != 1 else ""} used for the next questions</div>')
    rows = []
    for row in documents:
        source = escape(row.source, quote=True)
        ticked, off = ("", " disabled") if row.source in excluded else (" checked", "")
        asks = "".join(f'<button type="button" class="sq-example sq-suggest"{off}>{escape(q)}</button>'
                       for q in groups.get(row.source, []))
        remove = ("" if refusal else
                  f'<button type="button" class="sq-remove" data-source="{source}" '
                  f'aria-label="Remove {source}">Remove</button>')
        rows.append(
            f'<li class="sq-lib-doc" data-source="{source}"><div class="sq-lib-line">'
            f'<label class="sq-lib-pick"><input type="checkbox" class="sq-lib-tick" data-source="{source}"'
            f'{ticked}> <span class="sq-lib-title">{escape(row.title)}</span></label>{remove}</div>'
            f'<div class="sq-lib-facts">{escape(_facts(row))}</div>'
            + (f'<div class="sq-lib-asks">{asks}</div>' if asks else "") + "</li>")
    off = f'<div class="sq-note">Removing documents is off: {escape(refusal)}.</div>' if refusal else ""
    return (f'<div class="sq-library">{head}<ul class="sq-lib-list">{"".join(rows)}</ul>{off}'
            '<div class="sq-lib-msg" role="status"></div></div>')


PANEL_JS = r"""
(() => {
  if (window.sqPanel) return;
  window.sqPanel = true;
  const excludedBox = () => document.querySelector('#sq-excluded textarea, #sq-excluded input');
  function syncTicks() {
    const box = excludedBox();
    const ticks = [...document.querySelectorAll('#sq-library .sq-lib-tick')];
    const off = ticks.filter((t) => !t.checked).map((t) => t.dataset.source);
    for (const t of ticks) t.closest('.sq-lib-doc').querySelectorAll('.sq-suggest').forEach((b) => { b.disabled = !t.checked; });
    const head = document.querySelector('#sq-library .sq-library-head');
    if (head) head.textContent = `${ticks.length - off.length} of ${ticks.length} document${ticks.length === 1 ? '' : 's'} used for the next questions`;
    if (box) { box.value = JSON.stringify(off); box.dispatchEvent(new Event('input', {bubbles: true})); }
  }
  document.addEventListener('change', (e) => { if (e.target.closest && e.target.closest('.sq-lib-tick')) syncTicks(); });
  document.addEventListener('click', async (e) => {
    const t = e.target.closest ? e.target : e.target.parentElement;
    const suggest = t.closest('#sq-library .sq-suggest');
    if (suggest) {
      const box = document.querySelector('#sq-question textarea'), send = document.querySelector('#sq-ask');
      if (box && send) { box.value = suggest.textContent; box.dispatchEvent(new Event('input', {bubbles: true})); send.click(); }
      return;
    }
    const remove = t.closest('#sq-library .sq-remove');
    if (!remove) return;
    const source = remove.dataset.source, msg = document.querySelector('#sq-library .sq-lib-msg');
    if (!window.confirm(`Remove ${source} from the library? Its file is deleted from the corpus folder and the index is rebuilt without it.`)) return;
    remove.disabled = true;
    msg.textContent = `Removing ${source}\u2026`;
    const response = await fetch('api/documents/' + encodeURIComponent(source), {method: 'DELETE', credentials: 'same-origin'});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { remove.disabled = false; msg.textContent = `${source} was not removed: ${body.error || 'HTTP ' + response.status}`; return; }
    msg.textContent = `Removed ${source}.`;
    const viewer = document.querySelector('#sq-viewer .sq-viewer');
    if (viewer && viewer.dataset.source === source) { viewer.hidden = true; viewer.querySelector('.sq-doc').replaceChildren(); }
    document.querySelector('#sq-refresh')?.click();  // the status line, this panel, the suggestions
  });
})();
"""
