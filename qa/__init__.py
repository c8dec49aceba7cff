"""Grounded answering: retrieve, generate, verify every sentence against its cited span, or abstain."""

from core.answer import Answer, Citation, DroppedSentence, Passage, VerifiedSentence

from . import prompts
from .api import ask, check_served, engine_loaded, get_engine, prepare, stream
from .llms import Generator, GeneratorError, make_generator
from .question import TOP_K_BOUNDS, InvalidQuestion, UnknownSources
from .response import Response
from .suggest import suggestions

__all__ = ["TOP_K_BOUNDS", "Answer", "Citation", "DroppedSentence", "Generator", "GeneratorError", "InvalidQuestion",
           "Passage", "Response", "UnknownSources", "VerifiedSentence", "ask", "check_served", "engine_loaded",
           "get_engine", "make_generator", "prepare", "prompts", "stream", "suggestions"]
