"""The judge's recipe: its training data, training and calibration (``make train-judge``).

It sits above ``qa`` because it mines every question's candidates with the product's own
retriever and pre-ranking (``qa.get_engine``), over documents indexed by the product's
own ingest, so the judge learns from exactly the evidence text answering shows it.
The judge itself (interface, loading, model card, weights) lives in ``judge``; nothing in
the product imports this package.

* ``sources``: public QA sets read from ``../shared/data`` as documents and questions;
* ``swaps``: unanswerable near-miss questions made from answerable ones;
* ``mine``: each question's candidates from the product's retriever, gold sentence marked;
* ``claims``: claim-check pairs; ``batches``: question groups and pairs in token buckets;
* ``train``: the training loop; ``calibrate``: the decision thresholds.
"""

__all__: list[str] = []
