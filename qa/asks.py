"""What a question asks for, as far as composing an answer needs to know.

* a **specific value** (a dose, a duration, a percentage, a date, a count): only a
  sentence that holds a value of that kind can answer it, however well it matches the
  topic ("What dose of colchicine ...?" is not answered by "Colchicine has been used ...");
* **pictures or pointers** (a figure, the gallery, related pages): only then may a
  caption or a "See also" line be shown beside the body text (:mod:`ingest.kinds`).

The patterns read the question's form and the shape of values (a number and a unit),
never one document's wording.
"""

from __future__ import annotations

import re

_NUMBER = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|" \
          r"fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|a few|several|half|a dozen|dozens)"
_TIME_UNIT = r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?|decades?|centuries|century)"

# (kind, what in a question asks for it, what in a sentence gives one)
_VALUES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (kind, re.compile(asked, re.IGNORECASE), re.compile(given, re.IGNORECASE)) for kind, asked, given in (
        ("dose",
         (r"\b(?:dose|doses|dosage|dosing|how much (?:\w+ ){0,3}(?:should|to|do|does|is|are) (?:\w+ ){0,3}"
         r"(?:take|taken|give|given|use|used|prescribe|prescribed)|how many (?:mg|milligrams|tablets|pills|units))\b"),
         (rf"{_NUMBER}\s*(?:mg|mcg|µg|μg|g|ml|mL|l|iu|units?|tablets?|capsules?|drops?|puffs?|milligrams?|"
         rf"micrograms?|grams?)\b(?:\s*/\s*(?:kg|day|d|m2))?|\b(?:once|twice|thrice|{_NUMBER} times)\s+"
         r"(?:a|per|each|daily|weekly)\b|\b(?:daily|per day|a day)\b.*\d")),
        ("duration",
         (r"\b(?:how long|for how many (?:seconds|minutes|hours|days|weeks|months|years)|duration|how many "
         r"(?:days|weeks|months|years) (?:does|do|did|is|are|should|will|until|before)|how soon|how quickly)\b"),
         (rf"\b{_NUMBER}(?:\s*(?:-|–|to|or)\s*{_NUMBER})?[\s-]*{_TIME_UNIT}\b|\b(?:lifelong|permanent(?:ly)?|"
         r"indefinitely|overnight|within (?:a|an|the) \w+)\b")),
        ("percentage",
         (r"\b(?:percent|percentage|per cent|proportion|what fraction|what share|how many (?:out of|in every)|"
         r"incidence|prevalence rate|what rate|how likely|what are the odds|odds|risk of \w+ is)\b|%"),
         (rf"\d\s*%|\b(?:percent|per cent)\b|\b{_NUMBER} (?:in|out of|of every) (?:\d+|{_NUMBER})\b|"
         r"\b(?:half|a third|one third|a quarter)\s+of\b")),
        ("date",
         (r"\b(?:what|which|in what) (?:year|decade|century|date|month)\b|\bwhen (?:was|were|did|had)\b.*\b"
         r"(?:discover|describ|first|name|publish|found|invent|introduc|approv|report|identif|born|die|"
         r"establish|develop|coin)\w*|\bsince when\b|\bhow old is\b"),
         (r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b(?:january|february|march|april|may|june|july|august|"
         r"september|october|november|december)\b\s+\d|\b\d{1,2}(?:st|nd|rd|th)? century\b|\b(?:\w+)th century\b")),
        ("count",
         r"\bhow many\b",
         rf"\b{_NUMBER}\b|\b(?:single|both|dozen|pair|couple|no)\b"),
    ))

_FIGURES = re.compile(
    r"\b(?:pictures?|images?|photos?|photographs?|figures?|fig\.|illustrations?|illustrated|"
    r"gallery|galleries|captions?|diagrams?|tables?|charts?|see also|related (?:pages?|articles?|topics?|"
    r"links?|reading)|links?|further reading|references?|other pages?|other articles?)\b", re.IGNORECASE)


def value_asked(question: str) -> str | None:
    """The kind of specific value a question asks for, or None.

    >>> value_asked("What dose of colchicine is used?"), value_asked("How long does treatment last?")
    ('dose', 'duration')
    >>> value_asked("What percentage of patients get it?"), value_asked("When was it first described?")
    ('percentage', 'date')
    >>> value_asked("How many types are there?"), value_asked("When do lesions appear?") is None
    ('count', True)
    """
    for kind, asked, _ in _VALUES:
        if asked.search(question):
            return kind
    return None


def holds_value(text: str, kind: str) -> bool:
    """Whether a sentence gives a value of ``kind``.

    >>> holds_value("Give 1.5 mg/kg daily.", "dose"), holds_value("Colchicine has been used.", "dose")
    (True, False)
    >>> holds_value("It lasts two to three weeks.", "duration"), holds_value("It is rare.", "percentage")
    (True, False)
    """
    for name, _, given in _VALUES:
        if name == kind:
            return bool(given.search(text))
    return True


_SEVERAL = re.compile(
    r"\b(?:kinds?|types?|forms?|classes|categories|varieties|subtypes|causes?|caused|symptoms|signs|features|"
    r"treatments|options|steps|list|all|every|each|which \w+s|what are|name the|examples?|divided|classified|"
    r"grouped|categori[sz]ed|subdivided|what \w+s (?:are|were|do|can|should|must|is|does))\b", re.IGNORECASE)


def asks_for_several(question: str) -> bool:
    """Whether a question asks for several things (so a list answers it).

    >>> asks_for_several("What kinds are there?"), asks_for_several("What is calcinosis cutis?")
    (True, False)
    """
    return bool(_SEVERAL.search(question))


def asks_for_figures(question: str) -> bool:
    """Whether a question asks about pictures, figures or pointers to other pages.

    >>> asks_for_figures("What does the picture in the gallery show?"), asks_for_figures("What is it?")
    (True, False)
    """
    return bool(_FIGURES.search(question))
