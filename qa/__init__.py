"""Grounded answering: retrieve, generate, verify every sentence against its cited span, or abstain."""

from core.answer import Answer, Citation, DroppedSentence, Passage, VerifiedSentence

from .api import ask, get_engine, stream
from .llms import Generator, GeneratorError, make_generator
from .question import InvalidQuestion
from .suggest import suggestions

__all__ = ["Answer", "Citation", "DroppedSentence", "Generator", "GeneratorError", "InvalidQuestion",
           "Passage", "VerifiedSentence", "ask", "get_engine", "make_generator", "stream",
           "suggestions"]
