"""Turn a follow-up question into a standalone one, using the questions before it.

"And how is it treated?" after "What causes metastatic calcinosis cutis?" becomes
"How is metastatic calcinosis cutis treated?". References are resolved to what the
conversation is about, never by splicing keywords: the rewrite is deterministic and
uses only the conversation, the index's own topic names (document titles and headings
that name a thing, not an aspect such as "Treatment") and whether the source mentions
a phrase, so it does not depend on the model. It only changes what is retrieved, and
the rewritten question is shown to the user beside the sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# A leading word or phrase that marks a question as continuing the conversation.
_LEAD = re.compile(r"^(?:and|but|so|also|then|ok(?:ay)?|and also|and what about|what about|how about)\b[,\s]*",
                   re.IGNORECASE)
_ABOUT = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(?P<rest>.+?)\s*\??$", re.IGNORECASE)
# "is its ..." / "are their ..." ending the question: the rest is a noun phrase ("its symptoms?").
_POSSESSIVE_END = re.compile(r"\b(?P<verb>is|are|was|were)\s+(?:its|their)\s+"
                             r"(?P<noun>(?:[\w-]+\s+){0,3}[\w-]+)(?=\s*[?.!]?\s*$)", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(?:its|their)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(?:this|that|the) (?:condition|disease|disorder|type|kind|form)\b"
                        r"|\b(?:it|they|them|this|that|these|those)\b", re.IGNORECASE)


def find_topic(text: str, topics: Sequence[str]) -> str | None:
    """The longest topic name the text mentions, whole words only.

    >>> find_topic("How is tumoral calcinosis treated?", ["tumoral calcinosis", "calcinosis cutis"])
    'tumoral calcinosis'
    """
    lowered = text.lower()
    for topic in topics:
        if re.search(rf"\b{re.escape(topic)}\b", lowered):
            return topic
    return None


def _named_topic(fragment: str, topics: Sequence[str]) -> str | None:
    """A topic named by a short fragment: 'dystrophic' -> 'dystrophic calcinosis cutis'."""
    found = find_topic(fragment, topics)
    if found:
        return found
    words = [w for w in re.findall(r"\w+", fragment.lower()) if len(w) > 3]
    for topic in topics:
        if words and all(re.search(rf"\b{re.escape(w)}", topic) for w in words):
            return topic
    return None


def rewrite(question: str, history: Sequence[str], topics: Sequence[str],
            mentions: Callable[[str], bool] | None = None) -> str:
    """The standalone form of ``question`` given earlier standalone questions.

    A reference ("it", "that", "its", "this type") is resolved to what the conversation
    is about: the subject of the latest earlier question that has one (a topic of the
    index, or a noun phrase the source ``mentions``). "What about X?" asks the previous
    question again about X; "What about in children?" (or "And in children?") adds the
    phrase to it. The user's own words are kept; nothing else is spliced in. When no
    rewrite is confident, the question is answered as asked.

    >>> topics = ["metastatic calcinosis cutis", "dystrophic calcinosis cutis", "calcinosis cutis"]
    >>> rewrite("And how is it treated?", ["What causes metastatic calcinosis cutis?"], topics)
    'How is metastatic calcinosis cutis treated?'
    >>> rewrite("What about dystrophic?", ["What causes metastatic calcinosis cutis?"], topics)
    'What causes dystrophic calcinosis cutis?'
    >>> rewrite("What is dystrophic calcinosis cutis?", ["Is it painful?"], topics)
    'What is dystrophic calcinosis cutis?'
    >>> rewrite("What about in children?", ["How is calcinosis cutis treated?"], topics)
    'How is calcinosis cutis treated in children?'
    """
    if not history or find_topic(question, topics):
        return question
    previous = history[-1]
    subject = next((s for s in (subject_of(q, topics, mentions) for q in reversed(history)) if s), None)
    about = _ABOUT.match(question) or _AND_PHRASE.match(question)
    if about:
        return _ask_again(about.group("rest"), previous, subject, topics, mentions) or question
    continues = bool(_LEAD.match(question))
    referring = bool(_REFERENCE.search(question) or _POSSESSIVE.search(question))
    if not (continues or referring) or not subject:
        return question
    text = _LEAD.sub("", question).strip() or question
    text, ended = _POSSESSIVE_END.subn(lambda m: f"{m.group('verb')} the {m.group('noun')} of {subject}", text, count=1)
    if not ended:
        text = _POSSESSIVE.sub(f"{subject}'s", text, count=1)
    if subject not in text:
        text, replaced = _REFERENCE.subn(subject, text, count=1)
        if not replaced:
            return question  # a continuation that refers to nothing: answered as asked
    return text[0].upper() + text[1:]


def _ask_again(rest: str, previous: str, subject: str | None, topics: Sequence[str],
               mentions: Callable[[str], bool] | None) -> str | None:
    """The previous question asked again about ``rest`` ("dystrophic", "in children")."""
    rest = rest.strip().rstrip("?.! ")
    preposition = _PREPOSITION.match(rest)
    if preposition:
        # "in children": replace the previous question's own phrase with that preposition
        # ("... in dermatomyositis?" -> "... in lupus erythematosus?"), or add it.
        own = re.search(rf"\s+{preposition.group(1)}\s+[^?]+\?*\s*$", previous, re.IGNORECASE)
        stem = previous[:own.start()] if own else previous.rstrip(" ?")
        return f"{stem} {rest}?"
    new_subject = _named_topic(rest, topics) or (rest.lower() if mentions and mentions(rest) else None)
    if new_subject and subject and subject.lower() in previous.lower():
        return re.sub(re.escape(subject), new_subject, previous, count=1, flags=re.IGNORECASE)
    if new_subject:
        return f"{previous.rstrip(' ?')} for {new_subject}?"
    return None


# How earlier questions name what they are about, most specific first; a phrase counts
# only if it is a topic of the index or the source mentions it.
_SUBJECT_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?:what|who|which)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<np>[^?]+?)\s*\??$",
    r"^(?:what|which)\s+(?:causes|cause|caused)\s+(?:an?\s+|the\s+)?(?P<np>[^?]+?)\s*\??$",
    (r"^how\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<np>[^?]+?)\s+(?:treated|diagnosed|managed|caused|"
     r"classified|prevented|defined|recognised|recognized|detected)\b"),
    r"^who\s+(?:gets|has|develops|is affected by)\s+(?P<np>[^?]+?)\s*\??$",
    r"\b(?:in|of|with|for|about|from|by)\s+(?:an?\s+|the\s+)?(?P<np>(?:[\w-]+\s+){0,3}[\w-]+)\s*\??$",
)]


def subject_of(question: str, topics: Sequence[str], mentions: Callable[[str], bool] | None = None) -> str | None:
    """What a standalone question is about: the first topic it names (a topic's first two
    words count: "dystrophic calcinosis" names "dystrophic calcinosis cutis"), else a noun
    phrase in a subject position that the source ``mentions``; None when unsure.

    >>> topics = ["dystrophic calcinosis cutis", "metastatic calcinosis cutis", "calcinosis cutis"]
    >>> subject_of("How does dystrophic calcinosis differ from the metastatic kind?", topics)
    'dystrophic calcinosis cutis'
    >>> subject_of("Which areas are affected in systemic sclerosis?", topics, lambda p: p == "systemic sclerosis")
    'systemic sclerosis'
    >>> subject_of("Which areas are affected in systemic sclerosis?", topics) is None
    True
    """
    lowered = question.lower()
    named = []
    for topic in topics:
        words = topic.split()
        for size in range(len(words), min(2, len(words)) - 1, -1):
            found = re.search(rf"\b{re.escape(' '.join(words[:size]))}\b", lowered)
            if found:
                named.append((found.start(), -len(topic), topic))
                break
    if named:
        return min(named)[2]
    if mentions is None:
        return None
    for pattern in _SUBJECT_PATTERNS:
        match = pattern.search(question)
        if not match:
            continue
        words = match.group("np").split()
        for first in range(len(words)):  # the longest tail the source mentions
            phrase = " ".join(words[first:])
            if len(words) - first <= 6 and phrase.lower() not in _NOT_SUBJECTS and mentions(phrase):
                return phrase
    return None


_PREPOSITION = re.compile(r"^(in|for|among|during|after|before|with|without|on|at)\b", re.IGNORECASE)
_AND_PHRASE = re.compile(r"^(?:and|but|also)\s+(?P<rest>(?:in|for|among|during|after|before|with|without)\b.+?)\s*\??$",
                         re.IGNORECASE)
_NOT_SUBJECTS = {"it", "they", "this", "that", "these", "those", "them", "the", "a", "an"}
