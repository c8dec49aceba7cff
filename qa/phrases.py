"""English noun phrases for the follow-up rewrite: number, aspects, and verb agreement.

What :mod:`qa.followup` needs to tell a thing a conversation can be about ("systemic
sclerosis", "the pipes") from an aspect of one ("the symptoms", "the most frequent
cause") or a group it is asked about ("children"), and to splice a phrase in place of
a pronoun or another phrase with the verb next to it agreeing ("are they" -> "is
calcinosis cutis"). Rules of grammar only; nothing here knows a corpus.
"""

from __future__ import annotations

import re

# Aspects of a thing, as section headings name them: Wikipedia's standard top-level
# sections (MOS:LAYOUT and MEDMOS), the list ``ingest.headings.TOP_LEVEL_SECTIONS`` keeps
# out of the index's topics (tests/test_followup.py checks that this one holds all of it).
ASPECTS = frozenset({
    "signs and symptoms", "signs", "symptoms", "presentation", "causes", "cause",
    "risk factors", "mechanism", "pathophysiology", "pathogenesis", "diagnosis",
    "differential diagnosis", "classification", "types", "prevention", "screening",
    "treatment", "management", "prognosis", "outcomes", "complications", "epidemiology",
    "history", "society and culture", "research", "other animals", "genetics",
    "etymology", "terminology", "overview", "description", "uses", "medical uses",
    "adverse effects", "side effects", "contraindications", "pharmacology",
    "gallery", "see also", "notes", "references", "sources", "bibliography",
    "further reading", "external links",
})
# English plurals that do not end in -s.
_IRREGULAR_PLURALS = frozenset({"children", "people", "men", "women", "feet", "teeth", "mice", "geese",
                                "data", "criteria", "phenomena", "bacteria", "fungi", "nuclei"})
_SINGULAR_S = ("ss", "us", "is", "ys", "as", "os", "ics")  # sclerosis, lupus, cutis, genetics
PREPOSITIONS = frozenset({"in", "of", "for", "with", "without", "among", "during", "after", "before",
                          "on", "at", "from", "by", "about", "to", "into", "between"})
DETERMINER = re.compile(r"^(?:the|a|an|this|that|these|those|its|their)\s+", re.IGNORECASE)
# Singular -> plural forms of the verbs that agree with their subject.
_AUXILIARIES = {"is": "are", "was": "were", "has": "have", "does": "do"}
_PLURAL_OF = {**_AUXILIARIES}
_SINGULAR_OF = {plural: singular for singular, plural in _AUXILIARIES.items()}


def _forms(word: str) -> set[str]:
    """A noun's singular and plural spellings (near enough to compare two nouns)."""
    forms = {word, word + "s", word + "es"}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    return forms


_ASPECT_WORDS = frozenset(form for aspect in ASPECTS if " " not in aspect for form in _forms(aspect))


def head(phrase: str) -> str:
    """The noun a phrase is about: its last word before a preposition.

    >>> head("the most frequent cause"), head("lesions of tumoral calcinosis")
    ('cause', 'lesions')
    """
    words = DETERMINER.sub("", phrase.strip().lower()).split()
    for index, word in enumerate(words):
        if word in PREPOSITIONS and index:
            return words[index - 1]
    return words[-1] if words else ""


def is_plural(phrase: str) -> bool:
    """Whether a noun phrase is plural, by its head noun.

    >>> is_plural("the symptoms"), is_plural("children"), is_plural("calcinosis cutis"), is_plural("lupus")
    (True, True, False, False)
    """
    word = head(phrase)
    return word in _IRREGULAR_PLURALS or (len(word) > 3 and word.endswith("s") and not word.endswith(_SINGULAR_S))


# A noun made of a verb names something done to a thing: "maintenance", "replacement".
_ACTIONS = ("tion", "tions", "ment", "ments", "ance")


def is_aspect(phrase: str) -> bool:
    """Whether a noun phrase names an aspect of a thing rather than a thing: a section
    name of :data:`ASPECTS` or a noun made of a verb ("the maintenance").

    >>> is_aspect("the most frequent cause"), is_aspect("risk factors"), is_aspect("tumoral calcinosis")
    (True, True, False)
    >>> is_aspect("the maintenance"), is_aspect("the installation")
    (True, True)
    """
    words = DETERMINER.sub("", phrase.strip().lower()).split()
    if not words:
        return False
    tail, noun = " ".join(words[-2:]), head(phrase)
    return noun in _ASPECT_WORDS or tail in ASPECTS or " ".join(words) in ASPECTS or noun.endswith(_ACTIONS)


def is_group(phrase: str) -> bool:
    """A bare plural ("children", "older adults"): a group a question is narrowed to, not
    a thing it is about (the pipes, with its article, is a thing).

    >>> is_group("children"), is_group("the pipes"), is_group("systemic sclerosis")
    (True, False, False)
    """
    return not DETERMINER.match(phrase.strip()) and is_plural(phrase)


def is_thing(phrase: str) -> bool:
    """Whether a noun phrase (not a topic of the index) can be what a conversation is about:
    not an aspect, not a group, not a pronoun or a preposition.

    >>> [is_thing(p) for p in ("systemic sclerosis", "symptoms", "children", "it", "in children")]
    [True, False, False, False, False]
    """
    words = phrase.strip().lower().split()
    return (bool(words) and words[0] not in PREPOSITIONS and words[-1] not in _PRONOUNS
            and not is_aspect(phrase) and not is_group(phrase))


_PRONOUNS = frozenset({"it", "they", "them", "this", "that", "these", "those", "the", "a", "an", "one"})


def _cased(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def _inflect(verb: str, plural: bool) -> str | None:
    """A present-tense verb for a subject of the given number; None when it is not one."""
    lowered = verb.lower()
    table = _PLURAL_OF if plural else _SINGULAR_OF
    if lowered in table:
        return _cased(table[lowered], verb)
    if lowered in _PLURAL_OF or lowered in _SINGULAR_OF or not lowered.isalpha() or lowered.endswith(("ed", "ly")):
        return None
    if plural and lowered.endswith("s") and not lowered.endswith("ss"):  # affects -> affect
        return verb[:-3] + "y" if lowered.endswith("ies") else verb[:-2] if lowered.endswith(("ches", "shes", "xes")) \
            else verb[:-1]
    if not plural and not lowered.endswith("s"):  # appear -> appears
        return verb[:-1] + "ies" if re.search(r"[^aeiou]y$", lowered) else verb + "es" \
            if lowered.endswith(("ch", "sh", "x", "o")) else verb + "s"
    return None


_CLAUSE_START = re.compile(r"(?:^|\b(?:when|if|where|why|how|because|while|and|or|but|once|until|unless|whether)\s+)$",
                           re.IGNORECASE)
_MODALS = frozenset({"can", "could", "will", "would", "may", "might", "must", "should", "shall", "did"})


def splice(text: str, start: int, end: int, phrase: str, was_plural: bool, subject: bool) -> str:
    """``text`` with ``text[start:end]`` replaced by ``phrase``; when that was the subject
    of its clause and its number changes, the verb that agrees with it changes too: an
    inverted one just before it ("are they" -> "is it"), else the one just after.

    >>> splice("Where do they appear?", 9, 13, "calcinosis cutis", True, True)
    'Where does calcinosis cutis appear?'
    >>> splice("What happens when it grows?", 18, 20, "heat pumps", False, True)
    'What happens when heat pumps grow?'
    """
    plural = is_plural(phrase)
    before, after = text[:start], text[end:]
    if subject and plural != was_plural:
        last = re.search(r"(\w+)(\s+)$", before)
        if last and last.group(1).lower() in (_PLURAL_OF if plural else _SINGULAR_OF):
            before = before[:last.start()] + _inflect(last.group(1), plural) + last.group(2)
        elif _CLAUSE_START.search(before):  # "when it grows": the verb after it agrees
            verb = re.match(r"(\s+(?:\w+ly\s+)?)(\w+)", after)
            inflected = verb and verb.group(2).lower() not in _MODALS | PREPOSITIONS and _inflect(verb.group(2), plural)
            if inflected:
                after = verb.group(1) + inflected + after[verb.end():]
    return before + phrase + after
