"""The chat page's own CSS and script, inlined into the page (no file route is opened).

The script works by event delegation on ``document`` (chat messages are re-rendered by
Gradio at any time) and builds everything it shows with ``textContent``, never
``innerHTML``, so text from the corpus, the question or the model stays text. It adds:
a popover with a citation's quote (hover, keyboard focus, tap), the source viewer (the
whole cleaned document from ``GET /api/document``, the cited span highlighted), the
per-answer copy control (plain text, citations as footnotes) and the Markdown export.
"""

from __future__ import annotations

VIEWER_HTML = (
    '<div class="sq-viewer" hidden><div class="sq-viewer-bar"><strong class="sq-viewer-title"></strong>'
    '<span class="sq-viewer-where"></span><button type="button" class="sq-viewer-close" '
    'aria-label="Close the source">\u00d7</button></div><div class="sq-doc" tabindex="0"></div></div>')

TOOLS_HTML = ('<div class="sq-chat-tools"><button type="button" id="sq-export">Export conversation '
              "(Markdown)</button></div>")

PAGE_JS = r"""
(() => {
  if (window.sqPage) return;
  window.sqPage = true;
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text; return e; };
  const entryOf = (marker) => document.getElementById((marker.getAttribute('href') || '').slice(1));
  const paramsOf = (link) => new URLSearchParams((link.getAttribute('href') || '').split('?')[1] || '');
  const pageAt = (pages, offset) => { let n = 0; for (const p of pages || []) { if (p <= offset) n++; } return n; };

  // -- popover: a citation's quote on hover, focus and tap -----------------------------------
  let pop = null, pinned = null;
  function showPop(marker, pin) {
    const entry = entryOf(marker);
    if (!entry) return;
    if (!pop) { pop = el('div'); pop.id = 'sq-pop'; pop.setAttribute('role', 'tooltip'); document.body.append(pop); }
    const text = (sel) => (entry.querySelector(sel) || {}).textContent || '';
    pop.replaceChildren(el('div', 'sq-pop-head', `${marker.textContent} ${text('.sq-sec')} \u00b7 ${text('.sq-where')}`),
                        el('div', 'sq-pop-quote', text('.sq-quote')));
    pop.hidden = false;
    const r = marker.getBoundingClientRect(), w = Math.min(380, window.innerWidth - 16);
    pop.style.width = w + 'px';
    pop.style.left = Math.max(8, Math.min(window.innerWidth - w - 8, r.left - 20)) + 'px';
    const below = r.bottom + 6, height = pop.offsetHeight;
    pop.style.top = (below + height > window.innerHeight && r.top > height + 6 ? r.top - height - 6 : below) + 'px';
    if (pin) pinned = marker;
  }
  function hidePop(force) { if (pop && (force || !pinned)) { pop.hidden = true; pinned = null; } }
  document.addEventListener('mouseover', (e) => { const m = e.target.closest && e.target.closest('.sq-marker'); if (m) showPop(m, false); });
  document.addEventListener('mouseout', (e) => { const m = e.target.closest && e.target.closest('.sq-marker'); if (m && pinned !== m) hidePop(false); });
  document.addEventListener('focusin', (e) => { const m = e.target.closest && e.target.closest('.sq-marker'); if (m) showPop(m, true); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') hidePop(true); });

  // -- the source viewer ------------------------------------------------------------------------
  const documents = new Map();
  async function fetchDocument(source) {
    if (!documents.has(source)) {
      const response = await fetch('api/document?source=' + encodeURIComponent(source), {credentials: 'same-origin'});
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || `the source could not be loaded (${response.status})`);
      documents.set(source, body);
    }
    return documents.get(source);
  }
  function render(doc, start, end, sectionMark) {
    const text = doc.text, cuts = new Set([0, text.length]), heads = new Map(), pages = doc.pages || [];
    for (const s of doc.sections || []) {
      const name = s.path[s.path.length - 1];
      if (text.startsWith(name, s.start)) { heads.set(s.start, s); cuts.add(s.start); cuts.add(s.start + name.length); }
    }
    pages.forEach((p) => cuts.add(p));
    if (start !== null) { cuts.add(start); cuts.add(end); }
    const points = [...cuts].filter((x) => x >= 0 && x <= text.length).sort((a, b) => a - b);
    const out = [];
    let target = null;
    for (let i = 0; i < points.length - 1; i++) {
      const a = points[i], b = points[i + 1];
      if (pages.length && pages.includes(a)) out.push(el('span', 'sq-page-label', `page ${pageAt(pages, a)}`));
      let node;
      if (heads.has(a)) {
        node = el('span', 'sq-doc-heading', text.slice(a, b));
        node.setAttribute('role', 'heading');
        node.setAttribute('aria-level', String(Math.min(6, 2 + heads.get(a).path.length)));
      } else node = document.createTextNode(text.slice(a, b));
      if (start !== null && a >= start && b <= end) {
        const mark = el('mark', sectionMark ? 'sq-hl sq-hl-section' : 'sq-hl');
        mark.append(node);
        node = mark;
        target = target || mark;
      }
      out.push(node);
    }
    return {nodes: out, target};
  }
  async function openViewer(params) {
    const box = document.querySelector('#sq-viewer .sq-viewer');
    if (!box) return;
    const body = box.querySelector('.sq-doc'), title = box.querySelector('.sq-viewer-title');
    const where = box.querySelector('.sq-viewer-where');
    box.hidden = false;
    const source = params.get('source') || '';
    title.textContent = source;
    where.textContent = 'loading\u2026';
    body.replaceChildren();
    let doc;
    try { doc = await fetchDocument(source); } catch (error) { where.textContent = error.message; return; }
    let start = params.has('start') ? Number(params.get('start')) : null;
    let end = params.has('end') ? Number(params.get('end')) : null;
    const section = params.get('section');
    if (section !== null) {
      const found = (doc.sections || []).find((s) => s.path.join(' > ') === section);
      if (found) { start = found.start; end = found.end; }
    }
    const {nodes, target} = render(doc, start, end, section !== null);
    body.replaceChildren(...nodes);
    title.textContent = doc.title;
    const page = start !== null && (doc.pages || []).length ? ` \u00b7 page ${pageAt(doc.pages, start)}` : '';
    where.textContent = `${doc.source}${page}` + (section !== null ? ` \u00b7 ${section.split(' > ').join(' \u203a ')}` : '');
    box.dataset.source = doc.source;
    box.scrollIntoView({block: 'nearest'});
    if (target) body.scrollTop = Math.max(0, target.offsetTop - body.offsetTop - 60);
  }

  // -- copy and export ----------------------------------------------------------------------------
  async function copyText(text) {
    try { await navigator.clipboard.writeText(text); return true; } catch (error) {
      const area = el('textarea'); area.value = text; document.body.append(area); area.select();
      const done = document.execCommand('copy'); area.remove(); return done;
    }
  }
  function exportMarkdown() {
    const turns = [...document.querySelectorAll('#sq-chat .sq-md')].map((n) => n.textContent);
    const text = `# sourceqa conversation\n\nExported ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. ` +
      'Every sentence cites the source passage it came from.\n\n' + (turns.length ? turns.join('\n\n') : '*No answers yet.*') + '\n';
    const link = el('a');
    link.href = URL.createObjectURL(new Blob([text], {type: 'text/markdown'}));
    link.download = 'sourceqa-conversation.md';
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  document.addEventListener('click', async (e) => {
    const t = e.target.closest ? e.target : e.target.parentElement;
    const marker = t.closest('.sq-marker'), opener = t.closest('a.sq-open');
    if (marker) {
      e.preventDefault();
      showPop(marker, true);
      const entry = entryOf(marker), link = entry && entry.querySelector('a.sq-open');
      if (link) openViewer(paramsOf(link));
      return;
    }
    if (!t.closest('#sq-pop')) hidePop(true);
    if (opener) { e.preventDefault(); openViewer(paramsOf(opener)); return; }
    if (t.closest('.sq-viewer-close')) { const box = t.closest('.sq-viewer'); box.hidden = true; return; }
    const copy = t.closest('.sq-copy');
    if (copy) {
      const data = copy.closest('.sq-answer, .sq-abstain')?.querySelector('.sq-plain');
      if (data && await copyText(data.textContent)) { copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy with sources'; }, 1500); }
      return;
    }
    if (t.closest('#sq-export')) exportMarkdown();
  });

  // -- a narrow screen: the latest answer's sources open right under it ------------------------
  const NARROW = window.matchMedia('(max-width: 640px)');
  let lastOpened = null;
  function openLatestSources() {
    if (!NARROW.matches) return;
    const all = document.querySelectorAll('#sq-chat details.sq-cites');
    const latest = all[all.length - 1];
    if (latest && latest !== lastOpened) { latest.open = true; lastOpened = latest; }
  }
  new MutationObserver(openLatestSources).observe(document.body, {subtree: true, childList: true});
})();
"""

CSS = """
.sq-abstain { border-left: 4px solid #b45309; background: #fffbeb; color: #78350f;
              padding: 8px 12px; border-radius: 4px; }
.sq-answer a.sq-marker, .sq-checking a.sq-marker { font-size: 0.8em; vertical-align: super;
    text-decoration: none; font-weight: 600; color: #1d4ed8; padding: 0 1px; }
a.sq-marker:focus-visible { outline: 2px solid #93c5fd; border-radius: 3px; }
.sq-note, .sq-dropped { font-size: 0.8em; color: #6b7280; font-style: italic; }
.sq-checking .sq-note { display: block; margin-top: 4px; }
.sq-data { display: none !important; }
.sq-cites { margin-top: 8px; font-size: 0.85em; }
.sq-cites summary { cursor: pointer; color: #374151; }
.sq-cite-list { margin: 4px 0 0 0; padding-left: 0; list-style: none; }
.sq-cite { margin: 4px 0; }
.sq-cite:target { background: #eff6ff; outline: 2px solid #93c5fd; border-radius: 4px; }
.sq-cite .sq-sec { font-weight: 600; }
.sq-cite .sq-quote { display: block; margin: 2px 0 0 12px; color: #4b5563; }
a.sq-open { font-size: 0.85em; color: #1d4ed8; }
a.sq-section-link { font-size: inherit; color: #92400e; text-decoration: underline; }
.sq-tools { margin-top: 6px; }
.sq-copy, #sq-export { font-size: 0.8em; border: 1px solid #d1d5db; border-radius: 6px;
    padding: 2px 8px; background: #f9fafb; color: #374151; cursor: pointer; }
.sq-chat-tools { margin: 4px 0; }
#sq-pop { position: fixed; z-index: 1000; box-sizing: border-box; background: #111827; color: #f9fafb; font-size: 0.85em;
          padding: 8px 10px; border-radius: 6px; box-shadow: 0 4px 14px rgba(0,0,0,0.25); }
#sq-pop[hidden] { display: none; }
.sq-pop-head { font-weight: 600; margin-bottom: 4px; color: #bfdbfe; }
.sq-viewer { border: 1px solid #d1d5db; border-radius: 8px; margin-bottom: 12px; background: #fff; }
.sq-viewer[hidden] { display: none; }
.sq-viewer-bar { display: flex; gap: 8px; align-items: baseline; padding: 6px 10px;
                 border-bottom: 1px solid #e5e7eb; background: #f9fafb; border-radius: 8px 8px 0 0; }
.sq-viewer-where { color: #6b7280; font-size: 0.85em; flex: 1; }
.sq-viewer-close { border: none; background: none; font-size: 1.2em; cursor: pointer; }
.sq-doc { white-space: pre-wrap; max-height: 55vh; overflow-y: auto; padding: 8px 12px;
          font-size: 0.9em; line-height: 1.5; color: #1f2937; position: relative; }
.sq-doc-heading { font-weight: 700; font-size: 1.1em; color: #111827; }
.sq-page-label { display: inline-block; font-size: 0.75em; color: #6b7280; border: 1px solid #e5e7eb;
                 border-radius: 4px; padding: 0 4px; margin: 2px 0; }
mark.sq-hl { background: #fde68a; color: #111827; }
mark.sq-hl-section { background: #fef3c7; }
.sq-sources { font-size: 0.92em; }
.sq-standalone { margin-bottom: 10px; color: #374151; }
.sq-source { margin-bottom: 14px; padding: 6px 8px; border-radius: 6px; }
.sq-source:target { background: #eff6ff; outline: 2px solid #93c5fd; }
.sq-head { font-weight: 600; margin-bottom: 4px; }
.sq-where { font-weight: 400; color: #6b7280; margin-left: 8px; font-size: 0.85em; }
.sq-passage { margin: 0; padding-left: 10px; border-left: 3px solid #d1d5db; color: #4b5563; }
mark.sq-quote { background: #fde68a; color: #111827; padding: 0 2px; }
.sq-empty { color: #6b7280; }
.sq-abstain strong { color: inherit; }
/* Dark mode (Gradio's .dark): every text style above, at WCAG AA contrast or better
   (tests/test_browser.py measures it in chromium). One selector per rule: Gradio scopes
   a rule's first .dark only, so a list would lose to the scoped light rules. */
.dark .sq-abstain { background: #451a03; color: #fde68a; border-left-color: #f59e0b; }
.dark .sq-answer a.sq-marker { color: #93c5fd; }
.dark .sq-checking a.sq-marker { color: #93c5fd; }
.dark a.sq-open { color: #93c5fd; }
.dark a.sq-section-link { color: #fcd34d; }
.dark .sq-note { color: #a3aab6; }
.dark .sq-dropped { color: #a3aab6; }
.dark .sq-where { color: #a3aab6; }
.dark .sq-empty { color: #a3aab6; }
.dark .sq-viewer-where { color: #a3aab6; }
.dark .sq-page-label { color: #a3aab6; }
.dark .sq-cites summary { color: #d1d5db; }
.dark .sq-standalone { color: #d1d5db; }
.dark .sq-cite .sq-quote { color: #d1d5db; }
.dark .sq-passage { color: #d1d5db; }
.dark .sq-copy { background: #1f2937; color: #e5e7eb; border-color: #4b5563; }
.dark #sq-export { background: #1f2937; color: #e5e7eb; border-color: #4b5563; }
.dark .sq-viewer { background: #111827; border-color: #374151; }
.dark .sq-viewer-bar { background: #1f2937; border-color: #374151; }
.dark .sq-viewer-close { color: #e5e7eb; }
.dark .sq-doc { color: #e5e7eb; }
.dark .sq-doc-heading { color: #f9fafb; }
.dark .sq-page-label { border-color: #4b5563; }
.dark .sq-cite:target { background: #1e3a8a; }
.dark .sq-source:target { background: #1e3a8a; }
.dark mark.sq-hl-section { background: #78350f; color: #fef3c7; }
"""
