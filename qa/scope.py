"""Whether a candidate sentence speaks of what the question asks about.

Two readings of the document's own structure, for any document with headings:

* **the thing**: a question about "calcinosis cutis" is not answered by a sentence under
  "Traumatic calcinosis cutis" (a narrower thing: a heading that shares the thing's name),
  nor one about "dystrophic calcinosis cutis" by the article's general lead, unless the
  sentence itself names the thing asked about; a heading of another name ("Treatment",
  "Installation") is an aspect of the thing, not another thing;
* **the aspect**: "What are the symptoms of X?" is answered from a section whose heading
  names the symptoms ("Signs and symptoms"), or by a sentence that says the word, rather
  than by X's definition.

:func:`in_scope` is used only to choose among sentences the judge already finds
answering: when none in scope answers, the question is not declined for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.index import Index
from core.text import tokenize

from .evidence import question_terms
from .followup import subject_of

# Aspects of a subject that documents give sections of their own (the standard section
# names of qa.phrases.ASPECTS, less navigation and generic ones), each as a word prefix: a
# question asking one is answered only from its section or by a sentence that says it.
# Words that are as often plain verbs or nouns ("cause", "class", "side") are left out.
_ASPECT_PREFIXES = ("sympt", "presentat", "mechanis", "patho", "diagn", "preven", "screen", "treat", "manag",
                    "progn", "outcom", "complic", "epidem", "genet")
# Question words that name no aspect ("what", "how" are stopwords already).
_NOT_ASPECTS = {"differ", "difference", "exist", "there", "mani", "kind", "type", "form", "work", "do"}


class Scope:
    """The thing and aspect one question asks about, read against an index's topics."""

    def __init__(self, question: str, index: Index, topics: Sequence[str]) -> None:
        self.index = index
        self.topics = topics
        self.topic = subject_of(question, topics)
        topic_words = set(tokenize(self.topic or ""))
        self.aspect = {t for t in question_terms(question) if t not in topic_words and t not in _NOT_ASPECTS
                       and not t.isdigit()}
        self.question = question.lower()

    def row_topic(self, row: int) -> str:
        """The thing a sentence row's passage is about: the deepest heading of its path
        that names a thing, else its document's title."""
        sentence = self.index.sentences[row]
        section = self.index.chunks[sentence.chunk].section
        for heading in reversed(section.split(" > ")):
            if heading.strip().lower() in self.topics:
                return heading.strip().lower()
        return self.index.titles.get(sentence.source, "").strip().lower()

    def about_thing(self, row: int, text: str) -> bool:
        """Whether the row speaks of the question's thing (always, when it names none)."""
        if not self.topic:
            return True
        topic = self.row_topic(row)
        asked_besides = self.question.replace(self.topic, " ")  # another thing the question names
        if not topic or topic == self.topic or re.search(rf"\b{re.escape(topic)}\b", asked_besides):
            return True
        if not set(tokenize(topic)) & set(tokenize(self.topic)):
            return True  # a heading of another name ("Installation") is an aspect of the thing
        rest = re.sub(rf"\b{re.escape(topic)}\b", " ", text.lower())  # its own name says nothing
        return bool(re.search(rf"\b{re.escape(self.topic)}\b", rest))

    def in_aspect_section(self, row: int) -> bool:
        """Whether the row's heading path names an aspect the question asks about."""
        if not self.aspect:
            return False
        section = self.index.chunks[self.index.sentences[row].chunk].section
        return bool(self.aspect & set(tokenize(section)))

    def says_aspect(self, text: str) -> bool:
        return bool(self.aspect & set(tokenize(text)))


def _named_aspects(words) -> set[str]:
    return {p for w in words for p in _ASPECT_PREFIXES if w.startswith(p) or (len(w) >= 5 and p.startswith(w))}


def uncovered_aspect(scope: Scope, row: int, text: str) -> bool:
    """Whether the question asks an aspect (its diagnosis, its symptoms...) that a document
    organised by aspects gives a section of its own, while the chosen sentence neither
    stands under such a heading nor says the word: "How is X diagnosed?" answered with X's
    definition, from an article with no "Diagnosis" section. Documents without aspect
    headings (most pages, SQuAD's articles) are never judged so."""
    asked = _named_aspects(scope.aspect)
    if not asked:
        return False
    index = scope.index
    source = index.sentences[row].source
    headings = {w for c in index.chunks if c.source == source for w in tokenize(c.section.split(" > ")[-1])}
    if not _named_aspects(headings):
        return False  # not organised by aspects: nothing to say
    section = index.chunks[index.sentences[row].chunk].section
    return not (asked & _named_aspects(tokenize(section)) or asked & _named_aspects(tokenize(text)))


def narrow(pool: list, scope: Scope, answering: float) -> list:
    """The pool (judged rows, best first) without rows outside the question's thing and
    aspect, whenever a row inside them answers (probability at least ``answering``)."""
    about = [j for j in pool if scope.about_thing(j.row, j.text)]
    if any(j.probability >= answering for j in about):
        pool = about
    in_section = [j for j in pool if scope.in_aspect_section(j.row)]
    if any(j.probability >= answering for j in in_section):
        pool = [j for j in pool if scope.in_aspect_section(j.row) or scope.says_aspect(j.text)]
    return pool
