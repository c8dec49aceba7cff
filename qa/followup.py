"""Turn a follow-up question into a standalone one, using the questions before it.

"And how is it treated?" after "What causes metastatic calcinosis cutis?" becomes
"How is metastatic calcinosis cutis treated?". References are resolved to what the
conversation is about, never by splicing keywords: the rewrite is deterministic and
uses only the conversation, the index's own topic names (document titles and headings
that name a thing, not an aspect such as "Treatment") and whether the source mentions
a phrase, so it does not depend on the model. What a conversation is about is always a
thing: a topic, or a phrase the source mentions that is neither an aspect ("the
symptoms") nor a group ("children") (see :mod:`qa.phrases`). It only changes what is
retrieved, and the rewritten question is shown to the user in the answer, with a way
to ask the question as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .phrases import DETERMINER, PREPOSITIONS, is_aspect, is_group, is_plural, is_thing, splice

Mentions = Callable[[str], bool] | None

# A leading word or phrase that marks a question as continuing the conversation.
_LEAD = re.compile(r"^(?:and|but|so|also|then|ok(?:ay)?|and also|and what about|what about|how about)\b[,\s]*",
                   re.IGNORECASE)
_ABOUT = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(?P<rest>.+?)\s*\??$", re.IGNORECASE)
_AND_PHRASE = re.compile(r"^(?:and|but|also)\s+(?P<rest>(?:in|for|among|during|after|before|with|without)\b.+?)"
                         r"\s*\??$", re.IGNORECASE)
_PREPOSITION = re.compile(r"^(in|for|among|during|after|before|with|without|on|at)\b", re.IGNORECASE)
# "is its ..." / "are their ..." ending the question: the rest is a noun phrase ("its symptoms?").
_POSSESSIVE_END = re.compile(r"\b(?P<verb>is|are|was|were)\s+(?:its|their)\s+"
                             r"(?P<noun>(?:[\w-]+\s+){0,3}[\w-]+)(?=\s*[?.!]?\s*$)", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(?:its|their)\b", re.IGNORECASE)
# "the idiopathic kind", "this type", "that one": a kind of the subject, named by a word.
_KIND = re.compile(r"\b(?:the|this|that)\s+(?:(?P<mod>[\w-]+(?:\s+[\w-]+)?)\s+)?"
                   r"(?P<noun>kind|type|form|variant|variety|subtype|one)\b(?!\s+of\b)", re.IGNORECASE)
_NAMED = re.compile(r"\b(?:this|that|the)\s+(?:condition|disease|disorder|illness|device|product|thing)\b",
                    re.IGNORECASE)
# "it" standing for nothing: "is it true that ...", "it is safe to ...".
_EXPLETIVE = re.compile(r"(?:(?:(?<=\bis\s)|(?<=\bwas\s))it|it\s+(?:is|was))\s+(?!\w+ed\b)\w+\s+(?:to|that|whether)\b",
                        re.IGNORECASE)
_PERSONAL = re.compile(r"\b(?P<p>it|they|them)\b", re.IGNORECASE)
# "this"/"that" standing for a thing, not introducing a clause ("true that", "the drug that"):
# after an auxiliary, a verb or a preposition, or before an auxiliary, a participle or the end.
_DEMONSTRATIVE = re.compile(
    r"\b(?:is|are|was|were|does|do|did|can|will|causes?|treats?|affects?|about|of|for|with|from|by|to)\s+"
    r"(?P<a>this|that|these|those)\b"
    r"|\b(?P<b>this|that|these|those)(?=\s+(?:is|are|was|were|does|do|can|will|has|have|\w+ed)\b|\s*[?.!]?\s*$)",
    re.IGNORECASE)


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


def kind_of(words: str, topics: Sequence[str], subject: str | None = None, named: Sequence[str] = ()) -> str | None:
    """The topic a few words of it name ("dystrophic", "the idiopathic kind"): of the
    topics holding every word, one the conversation already names, else the one sharing
    most words with its subject ("idiopathic" + "calcinosis cutis"), else the shortest.

    >>> topics = ["idiopathic scrotal calcinosis", "idiopathic calcinosis cutis", "calcinosis cutis"]
    >>> kind_of("idiopathic", topics, "calcinosis cutis"), kind_of("idiopathic", topics, named=topics[:1])
    ('idiopathic calcinosis cutis', 'idiopathic scrotal calcinosis')
    """
    found = find_topic(words, topics)
    if found:
        return found
    wanted = [w for w in re.findall(r"[\w-]+", DETERMINER.sub("", words.lower())) if len(w) > 3]
    fits = [t for t in topics if wanted and all(re.search(rf"\b{re.escape(w)}", t) for w in wanted)]
    ours = set((subject or "").lower().split())
    return min(fits, key=lambda t: (t not in named, -len(ours & set(t.split())), len(t.split()), len(t)),
               default=None)


def rewrite(question: str, history: Sequence[str], topics: Sequence[str], mentions: Mentions = None) -> str:
    """The standalone form of ``question`` given earlier standalone questions.

    A reference ("it", "that", "its", "this type") is resolved to what the conversation
    is about: the subject of the latest earlier question that has one (a topic of the
    index, or a thing the source ``mentions``). "The X kind" (or "X" alone after "what
    about") names the topic holding the word X. An aspect asked without its thing ("What
    are the symptoms?") is asked of the subject. "What about X?" asks the previous
    question again about X; "What about in children?" (or "And in children?") adds the
    phrase to it. A verb next to a replaced subject agrees with it. The user's own words
    are kept; when no rewrite is confident, the question is answered as asked.

    >>> topics = ["metastatic calcinosis cutis", "dystrophic calcinosis cutis", "calcinosis cutis"]
    >>> rewrite("And how is it treated?", ["What causes metastatic calcinosis cutis?"], topics)
    'How is metastatic calcinosis cutis treated?'
    >>> rewrite("What about dystrophic?", ["What causes metastatic calcinosis cutis?"], topics)
    'What causes dystrophic calcinosis cutis?'
    >>> rewrite("What is dystrophic calcinosis cutis?", ["Is it painful?"], topics)
    'What is dystrophic calcinosis cutis?'
    >>> rewrite("What about in children?", ["How is calcinosis cutis treated?"], topics)
    'How is calcinosis cutis treated in children?'
    >>> rewrite("What are the symptoms?", ["What is calcinosis cutis?"], topics)
    'What are the symptoms of calcinosis cutis?'
    """
    if not history:
        return question
    named = [t for q in history for t in topics if re.search(rf"\b{re.escape(t)}\b", q.lower())]
    subject = next((_as_said(s, q) for s, q in ((subject_of(q, topics, mentions), q) for q in reversed(history))
                    if s), None)
    about = _ABOUT.match(question) or _AND_PHRASE.match(question)
    if about:
        return _ask_again(about.group("rest"), history[-1], subject, topics, mentions, named) or question
    if find_topic(question, topics):
        return question
    text = _LEAD.sub("", question).strip() or question
    resolved = resolve(text, subject, topics, named, mentions)
    return resolved[0].upper() + resolved[1:] if resolved else question


def resolve(text: str, subject: str | None, topics: Sequence[str], named: Sequence[str] = (),
            mentions: Mentions = None) -> str | None:
    """``text`` with its reference to ``subject`` spelled out, or None when it has none."""
    kind = _KIND.search(text)
    if kind and kind.group("mod"):
        topic = kind_of(kind.group("mod"), topics, subject, named)
        if topic:
            return splice(text, kind.start(), kind.end(), _like(topic, subject), False, True)
        kind = None  # "the most common type": an aspect, asked of the subject below
    if not subject:
        return None
    if kind:
        return splice(text, kind.start(), kind.end(), subject, False, True)
    ended = _POSSESSIVE_END.search(text)
    if ended:
        return text[:ended.start()] + f"{ended.group('verb')} the {ended.group('noun')} of {subject}" + text[ended.end():]
    possessive = _POSSESSIVE.search(text)
    if possessive:
        owner = subject + ("'" if subject.endswith("s") and is_plural(subject) else "'s")
        return text[:possessive.start()] + owner + text[possessive.end():]
    for pattern in (_NAMED, _PERSONAL, _DEMONSTRATIVE):
        found = next((f for f in pattern.finditer(text) if not _EXPLETIVE.match(text, f.start())), None)
        if found:
            group = next((g for g in ("p", "a", "b") if g in pattern.groupindex and found.group(g)), 0)
            word = found.group(group).lower()
            plural = word in ("they", "them", "these", "those")
            return splice(text, found.start(group), found.end(group), subject, plural, word != "them")
    return _of_subject(text, subject, mentions)


def _of_subject(text: str, subject: str, mentions: Mentions = None) -> str | None:
    """An aspect asked without its thing ("the symptoms", "the most frequent cause") asked
    of the subject: "What are the symptoms of calcinosis cutis?"; None without one, or
    when a phrase after it names its thing ("the treatment for pain", "... in lupus")."""
    words = list(re.finditer(r"[\w'-]+", text))
    for i, the in enumerate(words):
        if the.group().lower() != "the":
            continue
        run = [w for w in words[i + 1:i + 5] if w.group().lower() not in PREPOSITIONS]
        run = [w for n, w in enumerate(run) if words[i + 1 + n] is w]  # up to a preposition
        size = next((n for n in range(len(run), 0, -1)
                     if is_aspect(" ".join(w.group() for w in run[:n]))), 0)
        if not size:
            continue
        end = run[size - 1].end()
        after = words[i + 1 + size:]
        follows = after[0].group().lower() if after and text[end:after[0].start()].isspace() else ""
        if follows in ("of", "for"):
            return None
        if follows in PREPOSITIONS:
            thing = re.match(r"\s*(?:\w+)\s+([^?.!,]+)", text[end:])
            if thing and mentions and is_thing(thing.group(1).strip()) and mentions(thing.group(1).strip()):
                return None
        return f"{text[:end]} of {subject}{text[end:]}"
    return None


def _ask_again(rest: str, previous: str, subject: str | None, topics: Sequence[str], mentions: Mentions,
               named: Sequence[str]) -> str | None:
    """The previous question asked again about ``rest`` ("dystrophic", "in children")."""
    rest = rest.strip().rstrip("?.! ")
    if not _PREPOSITION.match(rest) and is_group(rest) and not find_topic(rest, topics):
        rest = f"in {rest}"  # "what about children?": the same question, narrowed to them
    preposition = _PREPOSITION.match(rest)
    if preposition:
        # "in children": replace the previous question's own phrase with that preposition
        # ("... in dermatomyositis?" -> "... in lupus erythematosus?"), or add it.
        own = re.search(rf"\s+{preposition.group(1)}\s+[^?]+\?*\s*$", previous, re.IGNORECASE)
        stem = previous[:own.start()] if own else previous.rstrip(" ?")
        return f"{stem} {rest}?"
    if is_aspect(rest):  # "what about the treatment (in children)?": that aspect of the subject
        aspect, narrowed = _split_phrase(DETERMINER.sub("", rest))
        verb = "are" if is_plural(aspect) else "is"
        return f"What {verb} the {aspect} of {subject}{narrowed}?" if subject else None
    kind = _KIND.fullmatch(rest)
    words = kind.group("mod") if kind else rest
    new = kind_of(words, topics, subject, named) if words else None
    if new and not kind and find_topic(rest, topics) == new:
        new = rest if rest.lower().endswith(new) else new  # a topic named whole: as typed
    elif new:
        new = _like(new, subject)  # "dystrophic", "the cartridge kind": like the subject
    elif not kind and mentions and is_thing(rest) and mentions(DETERMINER.sub("", rest)):
        new = rest
    if not new:
        return None
    if subject:
        old = re.search(rf"\b{re.escape(subject)}\b", previous, re.IGNORECASE)
        if old:
            return splice(previous, old.start(), old.end(), new, is_plural(subject), True)
    return resolve(previous, new, topics) or f"{previous.rstrip(' ?')} for {new}?"


def _as_said(subject: str, question: str) -> str:
    """The subject as the question said it: with its "the" ("the sand filter"), and in its
    case past the first word ("Kindler syndrome")."""
    found = re.search(rf"(\bthe\s+)?\b({re.escape(subject)})\b", question, re.IGNORECASE)
    if not found:
        return subject
    return ("the " if found.group(1) else "") + (found.group(2) if found.start(2) else subject)


def _like(topic: str, subject: str | None) -> str:
    """A topic with "the" before it when the conversation's subject has one."""
    return f"the {topic}" if subject and subject.lower().startswith("the ") else topic


def _split_phrase(phrase: str) -> tuple[str, str]:
    """("treatment", " in children") from "treatment in children"."""
    found = re.search(r"\s+(?:in|among|during|after|before|with|without)\s", phrase)
    return (phrase[:found.start()], phrase[found.start():]) if found else (phrase, "")


# How earlier questions name what they are about, most specific first; a phrase counts
# only if it is a topic of the index or a thing the source mentions.
_SUBJECT_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?:what|who|which)\s+(?:is|are|was|were)\s+(?P<det>an?\s+|the\s+)?(?P<np>[^?]+?)\s*\??$",
    r"^(?:what|which)\s+(?:causes|cause|caused)\s+(?P<det>an?\s+|the\s+)?(?P<np>[^?]+?)\s*\??$",
    (r"^how\s+(?:is|are|was|were)\s+(?P<det>an?\s+|the\s+)?(?P<np>[^?]+?)\s+(?:treated|diagnosed|managed|caused|"
     r"classified|prevented|defined|recognised|recognized|detected)\b"),
    r"^who\s+(?:gets|has|develops|is affected by)\s+(?P<det>an?\s+|the\s+)?(?P<np>[^?]+?)\s*\??$",
    r"\b(?:in|of|with|for|about|from|by)\s+(?P<det>an?\s+|the\s+)?(?P<np>(?:[\w-]+\s+){0,3}[\w-]+)\s*\??$",
)]


def subject_of(question: str, topics: Sequence[str], mentions: Mentions = None) -> str | None:
    """What a standalone question is about: the first topic it names (a topic's first two
    words count: "dystrophic calcinosis" names "dystrophic calcinosis cutis"), else a
    thing in a subject position that the source ``mentions`` (never an aspect such as
    "symptoms" or a group such as "children"); None when unsure.

    >>> topics = ["dystrophic calcinosis cutis", "metastatic calcinosis cutis", "calcinosis cutis"]
    >>> subject_of("How does dystrophic calcinosis differ from the metastatic kind?", topics)
    'dystrophic calcinosis cutis'
    >>> subject_of("Which areas are affected in systemic sclerosis?", topics, lambda p: p == "systemic sclerosis")
    'systemic sclerosis'
    >>> subject_of("Which areas are affected in systemic sclerosis?", topics) is None
    True
    >>> subject_of("What are the causes in children?", topics, lambda p: True) is None
    True
    """
    lowered = question.lower()
    named = []
    for topic in topics:
        words = topic.split()
        for size in range(len(words), min(2, len(words)) - 1, -1):
            found = re.search(rf"\b{re.escape(' '.join(words[:size]))}\b", lowered)
            if found:
                named.append((found.start(), size < len(words), -len(topic), topic))
                break
    if named:
        return min(named)[-1]
    if mentions is None:
        return None
    for pattern in _SUBJECT_PATTERNS:
        match = pattern.search(question)
        if not match:
            continue
        words = match.group("np").split()
        article = "the " if (match.group("det") or "").lower().startswith("the") else ""
        for first in range(len(words)):  # the longest tail the source mentions
            phrase = " ".join(words[first:])
            if (len(words) - first <= 6 and is_thing((article if not first else "") + phrase)
                    and mentions(phrase)):
                return phrase
    return None
