"""Turn a follow-up question into a standalone one, using the questions before it.

"And how is it treated?" after "What causes metastatic calcinosis cutis?" becomes
"How is metastatic calcinosis cutis treated?". The rewrite is deterministic and
uses only the conversation and the index's own topic names (document titles and
headings that name a thing, not an aspect such as "Treatment"), so it does not
depend on the model: it only changes what is retrieved, and the rewritten question
is shown to the user beside the sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ingest.clean import TOP_LEVEL_SECTIONS

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


def topic_names(titles: Iterable[str], headings: Iterable[str]) -> list[str]:
    """Names a question can be about, longest first, from titles and heading paths.

    >>> topic_names(["Calcinosis Cutis"], ["Treatment", "Classification > Tumoral calcinosis"])
    ['tumoral calcinosis', 'calcinosis cutis']
    """
    names = {title.strip().lower() for title in titles if title.strip()}
    for heading in headings:
        leaf = heading.split(" > ")[-1].strip().lower()
        if leaf and leaf not in TOP_LEVEL_SECTIONS:
            names.add(leaf)
    return sorted(names, key=lambda name: (-len(name), name))


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


def rewrite(question: str, history: Sequence[str], topics: Sequence[str]) -> str:
    """The standalone form of ``question`` given earlier standalone questions.

    >>> topics = ["metastatic calcinosis cutis", "dystrophic calcinosis cutis", "calcinosis cutis"]
    >>> rewrite("And how is it treated?", ["What causes metastatic calcinosis cutis?"], topics)
    'How is metastatic calcinosis cutis treated?'
    >>> rewrite("What about dystrophic?", ["What causes metastatic calcinosis cutis?"], topics)
    'What causes dystrophic calcinosis cutis?'
    >>> rewrite("What is dystrophic calcinosis cutis?", ["Is it painful?"], topics)
    'What is dystrophic calcinosis cutis?'
    """
    if not history or find_topic(question, topics):
        return question
    previous = history[-1]
    topic = find_topic(previous, topics)
    about = _ABOUT.match(question)
    if about:
        new_topic = _named_topic(about.group("rest"), topics)
        if new_topic and topic:  # same question, other subject
            return re.sub(re.escape(topic), new_topic, previous, count=1, flags=re.IGNORECASE)
        if new_topic:
            return f"{previous.rstrip(' ?')} for {new_topic}?"
        return f"{about.group('rest')} ({previous.rstrip(' ?')})?"
    continues = bool(_LEAD.match(question))
    referring = bool(_REFERENCE.search(question) or _POSSESSIVE.search(question))
    if not (continues or referring):
        return question
    subject = topic or _subject_words(previous)
    if not subject:
        return question
    text = _LEAD.sub("", question).strip() or question
    text, ended = _POSSESSIVE_END.subn(lambda m: f"{m.group('verb')} the {m.group('noun')} of {subject}", text, count=1)
    if not ended:
        text = _POSSESSIVE.sub(f"{subject}'s", text, count=1)
    if subject not in text:
        text, replaced = _REFERENCE.subn(subject, text, count=1)
        if not replaced:
            text = f"{text.rstrip(' ?')} of {subject}?"
    return text[0].upper() + text[1:]


def _subject_words(question: str) -> str:
    """The content words of a question, a stand-in topic when it names no known topic.

    >>> _subject_words("Are skin nodules painful?")
    'skin nodules painful'
    """
    from ingest.keyword import STOPWORDS

    words = [w for w in re.findall(r"[\w'-]+", question)
             if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS]
    return " ".join(words)


_QUESTION_WORDS = {"what", "which", "who", "whom", "how", "why", "when", "where", "whether",
                   "does", "do", "did", "can", "could", "is", "are", "was", "were", "it", "its"}
