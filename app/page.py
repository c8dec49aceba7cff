"""The chat page's own CSS and script, inlined into the page (no file route is opened).

The script works by event delegation on ``document`` (chat messages are re-rendered by
Gradio at any time) and builds everything it shows with ``textContent``, never
``innerHTML``, so text from the corpus, the question or the model stays text. It adds:
a popover with a citation's quote (hover, keyboard focus, tap), the source viewer (the
whole cleaned document from ``GET /api/document``, the cited span highlighted), the
per-answer copy control (plain text, citations as footnotes), the Markdown export, and
"Ask as typed instead" on a rewritten follow-up (it puts the question as typed in the box
and clicks the chat's hidden as-typed button, which asks it without the conversation).
"""

from __future__ import annotations

from .style import CSS

__all__ = ["CSS", "PAGE_JS", "TOOLS_HTML", "VIEWER_HTML", "upload_html"]

VIEWER_HTML = (
    '<div class="sq-viewer" hidden><div class="sq-viewer-bar"><strong class="sq-viewer-title"></strong>'
    '<span class="sq-viewer-where"></span><button type="button" class="sq-viewer-close" '
    'aria-label="Close the source">\u00d7</button></div><div class="sq-doc" tabindex="0"></div></div>')

TOOLS_HTML = ('<div class="sq-chat-tools"><button type="button" id="sq-export" hidden>Export conversation '
              "(Markdown)</button></div>")  # shown by the script once there is an answer

def upload_html(refusal: str | None, accept: str) -> str:
    """The chat's "add documents" control, or the line that says why adding is off."""
    from html import escape

    if refusal:
        return f'<div class="sq-upload sq-upload-off">Adding documents: {escape(refusal)}.</div>'
    return ('<div class="sq-upload" id="sq-upload"><label class="sq-upload-pick">Add documents '
            f'<input type="file" id="sq-upload-input" multiple accept="{escape(accept)}"></label> '
            f'<span class="sq-upload-hint">or drop files here ({escape(accept)})</span>'
            '<progress class="sq-upload-bar" max="100" hidden></progress>'
            '<div class="sq-upload-msg" role="status"></div></div>')


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
    const typed = t.closest('.sq-as-typed');
    if (typed) {
      const text = typed.closest('.sq-standalone')?.querySelector('.sq-typed')?.textContent || '';
      const box = document.querySelector('#sq-question textarea'), send = document.querySelector('#sq-as-typed-send');
      if (text && box && send) { box.value = text; box.dispatchEvent(new Event('input', {bubbles: true})); send.click(); }
      return;
    }
    if (t.closest('#sq-export')) exportMarkdown();
  });

  // -- adding documents: choose or drop files; upload progress, then the ingest ----------------
  function uploadOne(file) {
    return new Promise((resolve) => {
      const box = document.getElementById('sq-upload');
      const bar = box.querySelector('.sq-upload-bar'), msg = box.querySelector('.sq-upload-msg');
      bar.hidden = false; bar.max = 100; bar.value = 0;
      msg.textContent = `Uploading ${file.name}\u2026`;
      const xhr = new XMLHttpRequest();
      xhr.open('POST', 'api/upload?name=' + encodeURIComponent(file.name));
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
      let polling = null;  // while it is ingested: files read, chunks embedded of total, rate, time left
      xhr.upload.onload = () => { bar.removeAttribute('value');
        msg.textContent = `Adding ${file.name} to the index\u2026`;
        polling = setInterval(async () => {
          try {
            const r = await fetch('api/upload/progress?name=' + encodeURIComponent(file.name));
            const p = r.ok ? await r.json() : {};
            if (p && p.total) { bar.max = p.total; bar.value = p.done; msg.textContent = `${file.name}: ${p.text}`; }
          } catch (_) { /* the next poll tries again */ }
        }, 500); };
      xhr.onloadend = () => { if (polling) clearInterval(polling); };
      xhr.onload = () => {
        let body = {}; try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        bar.hidden = true;
        if (xhr.status === 200) {
          msg.textContent = body.already_there ? `${file.name} is already in the corpus.`
            : `Added ${file.name}: ${body.sections} sections, ${body.chunks} passages.`;
          box.dataset.added = (box.dataset.added || '') + file.name + '\n';
          document.querySelector('#sq-refresh')?.click();  // the status line names it
        } else {
          const why = (body.error || 'HTTP ' + xhr.status).replace(file.name + ': ', '');
          msg.textContent = `${file.name} was not added: ${why}`;
        }
        resolve();
      };
      xhr.onerror = () => { bar.hidden = true; msg.textContent = `${file.name} was not added: the server cannot be reached.`; resolve(); };
      xhr.send(file);
    });
  }
  async function uploadAll(files) { for (const file of files) await uploadOne(file); }
  document.addEventListener('change', (e) => {
    const input = e.target.closest && e.target.closest('#sq-upload-input');
    if (input && input.files.length) uploadAll([...input.files]).then(() => { input.value = ''; });
  });
  document.addEventListener('dragover', (e) => { if (e.target.closest && e.target.closest('#sq-upload')) {
    e.preventDefault(); e.target.closest('#sq-upload').classList.add('sq-drop'); } });
  document.addEventListener('dragleave', (e) => { const z = e.target.closest && e.target.closest('#sq-upload');
    if (z) z.classList.remove('sq-drop'); });
  document.addEventListener('drop', (e) => { const z = e.target.closest && e.target.closest('#sq-upload');
    if (!z) return; e.preventDefault(); z.classList.remove('sq-drop'); uploadAll([...e.dataTransfer.files]); });

  // -- a narrow screen: the latest answer's sources open right under it ------------------------
  const NARROW = window.matchMedia('(max-width: 640px)');
  let lastOpened = null;
  function openLatestSources() {
    if (!NARROW.matches) return;
    const all = document.querySelectorAll('#sq-chat details.sq-cites');
    const latest = all[all.length - 1];
    if (latest && latest !== lastOpened) { latest.open = true; lastOpened = latest; }
  }
  // Export appears with the first answer; a decline closes the viewer (no earlier citation stays).
  let lastFinal = '';
  function onChange() {
    openLatestSources();
    const finals = document.querySelectorAll('#sq-chat .sq-answer, #sq-chat .sq-abstain');
    const exp = document.getElementById('sq-export');
    if (exp) exp.hidden = !finals.length;
    const last = finals[finals.length - 1], key = last ? finals.length + ':' + last.textContent.slice(0, 200) : '';
    if (key !== lastFinal && lastFinal !== '' && last.classList.contains('sq-abstain')) {
      const box = document.querySelector('#sq-viewer .sq-viewer');
      if (box) { box.hidden = true; box.querySelector('.sq-doc').replaceChildren(); delete box.dataset.source; }
    }
    lastFinal = key || lastFinal;
  }
  new MutationObserver(onChange).observe(document.body, {subtree: true, childList: true});
})();
"""
