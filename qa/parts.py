"""Questions in several parts: a comparison, two questions joined, one asked of two things.

"What's the difference between dystrophic and metastatic?" needs a sentence about each
kind; "Where do tumoral calcinosis lesions appear and who usually gets it?" needs one for
each question; "Where does it appear in dermatomyositis and in lupus?" one for each
place. :func:`split_parts` finds such parts by the question's form (never by one
document's words), each a standalone question; the engine then lets the judge answer
each part by itself, shows one supporting sentence per part (labelled by its section),
and says which part the source does not answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .followup import rewrite

_COMPARE = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?P<head>.*?)\b(?:the )?differences? between (?P<a>.+?) and (?P<b>.+?)\s*\??$",
    r"^how (?:does|do|is|are) (?P<a>.+?) (?:differ|different) from (?P<b>.+?)\s*\??$",
    r"^how (?:do|does) (?P<a>.+?) and (?P<b>.+?) differ\s*\??$",
    r"^(?:compare|contrast) (?P<a>.+?) (?:and|with|to|versus|vs\.?) (?P<b>.+?)\s*\??$",
    r"^(?P<a>[^,?]+?) (?:versus|vs\.?) (?P<b>[^?]+?)\s*\??$",
)]
# "... differ between A and B?": the same question asked of each.
_BETWEEN = re.compile(r"^(?P<head>.+?\b(?:differ|vary|compare|change))\s+between (?P<a>.+?) and (?P<b>.+?)\s*\??$",
                      re.IGNORECASE)
# A second question joined by "and": "..., and who gets it?", "... and is it caused by ...?"
_JOINED = re.compile(r"^(?P<a>.+?),?\s+and\s+(?P<b>(?:who|what|where|when|which|why|how|is|are|was|were|"
                     r"does|do|did|can|could|should|will)\b.+)$", re.IGNORECASE)
# One question asked of two things: "... in A and (in) B?"
_TWO_PLACES = re.compile(r"^(?P<head>.+?)\s+(?P<prep>in|for|among|on|with|after)\s+(?P<a>[^,?]+?)\s+and\s+"
                         r"(?:(?P=prep)\s+)?(?P<b>[^,?]+?)\s*\?*$", re.IGNORECASE)
_WH = re.compile(r"^(?:who|what|where|when|which|why|how|is|are|was|were|does|do|did|can|could|should|will)\b",
                 re.IGNORECASE)


def _thing(fragment: str, topics: Sequence[str]) -> str:
    """A fragment as the topic it names ("dystrophic" -> "dystrophic calcinosis cutis"),
    the shortest topic whose words begin with each of its words; else the fragment."""
    fragment = re.sub(r"^(?:the|a|an)\s+", "", fragment.strip(), flags=re.IGNORECASE)
    words = [w for w in re.findall(r"[\w-]+", fragment.lower()) if w not in {"kind", "type", "form", "one", "ones"}]
    named = [t for t in topics if words and all(re.search(rf"\b{re.escape(w)}", t) for w in words)]
    return min(named, key=len) if named else fragment


def _question(text: str) -> str:
    text = text.strip().rstrip("?.! ")
    return text[:1].upper() + text[1:] + "?"


def _two_things(places: re.Match[str], mentions: Callable[[str], bool] | None) -> bool:
    """Whether "in A and B" names two things: the preposition is said again ("in A and in
    B"), or the source names each, and neither is a number or a range ("the 1970s and 80s")."""
    if re.search(rf"\band\s+{places['prep']}\s", places.group(0), re.IGNORECASE):
        return True
    a, b = places["a"], places["b"]
    if re.search(r"\d", a + b) or mentions is None:
        return False
    return mentions(re.sub(r"^(?:the|a|an)\s+", "", a)) and mentions(re.sub(r"^(?:the|a|an)\s+", "", b))


def split_parts(question: str, topics: Sequence[str], mentions: Callable[[str], bool] | None = None) -> list[str]:
    """The standalone parts of a question in several parts; [] for a single question.

    >>> topics = ["dystrophic calcinosis cutis", "metastatic calcinosis cutis", "tumoral calcinosis"]
    >>> split_parts("What's the difference between dystrophic and metastatic?", topics)
    ['What is dystrophic calcinosis cutis?', 'What is metastatic calcinosis cutis?']
    >>> split_parts("Where do tumoral calcinosis lesions appear and who usually gets it?", topics)
    ['Where do tumoral calcinosis lesions appear?', 'Who usually gets tumoral calcinosis?']
    >>> split_parts("Where does it appear in dermatomyositis and in lupus?", topics)
    ['Where does it appear in dermatomyositis?', 'Where does it appear in lupus?']
    >>> split_parts("What is calcinosis cutis?", topics)
    []
    >>> split_parts("What protocol was popular in the 1970s and 80s for Apple?", topics)
    []
    """
    text = " ".join(question.split())
    between = _BETWEEN.match(text)
    if between:
        return [_question(f"{between['head']} in {between[x]}") for x in ("a", "b")]
    for pattern in _COMPARE:
        match = pattern.match(text)
        if match:
            head = (match.groupdict().get("head") or "").strip()
            if head and not re.match(r"^(?:what(?:'s| is| are)|explain|describe|tell me)\b", head, re.IGNORECASE):
                return []
            return [_question(f"What is {_thing(match[x], topics)}") for x in ("a", "b")]
    joined = _JOINED.match(text)
    if joined and _WH.match(joined["a"]):
        first = _question(joined["a"])
        second = rewrite(_question(joined["b"]), [first], topics, mentions)
        return [first, second]
    places = _TWO_PLACES.match(text)
    if places and _WH.match(text) and len(places["a"].split()) <= 5 and len(places["b"].split()) <= 5 \
            and _two_things(places, mentions):
        return [_question(f"{places['head']} {places['prep']} {places[x]}") for x in ("a", "b")]
    return []
