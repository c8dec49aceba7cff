"""Text-level measures the evals score answers with: markers stripped, SQuAD's answer
normalisation, token F1, key-fact presence and lexical support of a sentence by a quote.

The evals read text with their own stopword list and stemming, independent of the
product's tokenizer (:mod:`core.text`) on purpose: a change to how the product reads
text must not also move the ruler it is measured with.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

SUPPORT_THRESHOLD = 0.7
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
may me might more most must my myself of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up upon us very was we were what when where which
while who whom whose why will with would you your yours yourself yourselves often usually
typically called known one ones
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
MARKER = re.compile(r"\s*\[(\d+)\]")
MARKER_GROUP = re.compile(r"(?:\s*\[\d+\])+")


def marker_free(text: str) -> str:
    """The answer text without citation markers, white space collapsed.

    >>> marker_free("It is rare [1].  It heals [2][3].")
    'It is rare. It heals.'
    """
    return " ".join(MARKER.sub("", text).split())


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Calcium-channel blocker!")
    'calciumchannel blocker'
    """
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 after :func:`normalize_answer`.

    >>> round(token_f1("diltiazem was used", "diltiazem is used"), 3)
    0.667
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def fact_present(phrasings: Sequence[str], text: str) -> bool:
    """A key fact is present if any phrasing is a case-insensitive substring of the text.

    >>> fact_present(["calcium channel blocker", "diltiazem"], "Diltiazem helps.")
    True
    """
    haystack = " ".join(text.lower().split())
    return any(p.strip() and " ".join(p.lower().split()) in haystack for p in phrasings)


def content_words(text: str) -> list[str]:
    """Lower-cased alphanumeric words minus stopwords, plural 's' stripped.

    >>> content_words("The lesions are on the hands, in 12 cases.")
    ['lesion', 'hand', '12', 'case']
    """
    words = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isalpha():
            word = word[:-1]
        words.append(word)
    return words


@dataclass(frozen=True)
class Support:
    supported: bool
    coverage: float  # share of the sentence's distinct content words found in the quote
    missing_numbers: tuple[str, ...]


def support_test(sentence: str, quote: str, threshold: float = SUPPORT_THRESHOLD) -> Support:
    """Lexical support: >= ``threshold`` of content words in the quote, every number too.

    >>> support_test("Lesions appear in 12 patients.", "lesions appeared in 12 patients")
    Support(supported=True, coverage=0.75, missing_numbers=())
    >>> support_test("Lesions appear in 21 patients.", "lesions appear in 12 patients").supported
    False
    """
    words = list(dict.fromkeys(content_words(marker_free(sentence))))
    found = set(content_words(quote))
    if not words:
        return Support(True, 1.0, ())
    coverage = sum(w in found for w in words) / len(words)
    missing = tuple(w for w in words if any(ch.isdigit() for ch in w) and w not in found)
    return Support(coverage >= threshold and not missing, coverage, missing)
