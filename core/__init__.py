"""The vocabulary every stage shares: settings, the plain types that flow between
stages (chunks, sentences, spans, citations, answers, the index's read interface) and
text utilities (tokenize, stem, sentences).

It imports none of ``ingest``, ``qa``, ``app`` or ``evals``; they all may import it
(``tests/test_architecture.py`` enforces the rule; ``docs/architecture.md`` explains it).
"""
