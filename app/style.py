"""The chat page's own CSS (light, and dark under Gradio's ``.dark``), inlined into the page."""

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
.sq-answer .sq-standalone, .sq-abstain .sq-standalone { margin: 0 0 6px 0; font-size: 0.85em; }
.sq-as-typed { font-size: 0.9em; border: 1px solid #d1d5db; border-radius: 6px; padding: 1px 8px;
    margin-left: 4px; background: #f9fafb; color: #374151; cursor: pointer; }
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
.dark .sq-as-typed { background: #1f2937; color: #e5e7eb; border-color: #4b5563; }
.dark .sq-viewer { background: #111827; border-color: #374151; }
.dark .sq-viewer-bar { background: #1f2937; border-color: #374151; }
.dark .sq-viewer-close { color: #e5e7eb; }
.dark .sq-doc { color: #e5e7eb; }
.dark .sq-doc-heading { color: #f9fafb; }
.dark .sq-page-label { border-color: #4b5563; }
.dark .sq-cite:target { background: #1e3a8a; }
.dark .sq-source:target { background: #1e3a8a; }
.dark mark.sq-hl-section { background: #78350f; color: #fef3c7; }
.sq-upload { font-size: 0.85em; border: 1px dashed #9ca3af; border-radius: 6px; padding: 6px 10px;
    margin: 6px 0; color: #374151; }
.sq-upload.sq-drop { background: #eff6ff; border-color: #1d4ed8; }
.sq-upload-pick { font-weight: 600; cursor: pointer; }
.sq-upload input[type=file] { font-size: 0.85em; max-width: 18em; padding: 2px; color: inherit;
    background: transparent; }
.sq-upload-hint { color: #4b5563; }
.sq-upload-bar { display: block; width: 100%; margin-top: 4px; }
.sq-upload-bar[hidden] { display: none; }
.sq-upload-msg { margin-top: 2px; }
.sq-hidden { display: none !important; }
#sq-export[hidden] { display: none; }
div:has(> #sq-excluded) { display: none !important; }
.sq-library { font-size: 0.88em; color: #1f2937; }
.sq-library-head { color: #4b5563; margin-bottom: 4px; }
.sq-lib-list { list-style: none; margin: 0; padding: 0; max-height: 40vh; overflow-y: auto; }
.sq-lib-doc { border: 1px solid #e5e7eb; border-radius: 6px; padding: 4px 8px; margin: 4px 0; }
.sq-lib-line { display: flex; align-items: baseline; gap: 8px; }
.sq-lib-pick { flex: 1; cursor: pointer; }
.sq-lib-title { font-weight: 600; }
.sq-lib-facts { color: #4b5563; font-size: 0.9em; margin-left: 22px; }
.sq-lib-asks { margin: 2px 0 0 22px; display: flex; flex-wrap: wrap; gap: 4px; }
.sq-suggest, .sq-remove { font-size: 0.85em; border: 1px solid #d1d5db; border-radius: 6px;
    padding: 1px 8px; background: #f9fafb; color: #374151; cursor: pointer; }
.sq-suggest:disabled { opacity: 0.5; cursor: default; }
.sq-remove { color: #991b1b; border-color: #fca5a5; }
.sq-lib-msg { margin-top: 2px; color: #374151; }
.dark .sq-library { color: #e5e7eb; }
.dark .sq-library-head { color: #a3aab6; }
.dark .sq-lib-facts { color: #a3aab6; }
.dark .sq-lib-doc { border-color: #374151; }
.dark .sq-suggest { background: #1f2937; color: #e5e7eb; border-color: #4b5563; }
.dark .sq-remove { background: #1f2937; color: #fca5a5; border-color: #7f1d1d; }
.dark .sq-lib-msg { color: #e5e7eb; }
.dark .sq-upload { color: #e5e7eb; }
.dark .sq-upload-hint { color: #a3aab6; }
.dark .sq-upload.sq-drop { background: #1e3a8a; }
"""
