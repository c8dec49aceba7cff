"""Follow-up questions are rewritten into standalone ones before retrieval."""

from __future__ import annotations

import re

import pytest
from conftest import SEED, FakeLLM

from ingest.headings import TOP_LEVEL_SECTIONS, topic_names
from qa import InvalidQuestion, ask
from qa.followup import rewrite, subject_of
from qa.phrases import ASPECTS, is_aspect, is_group, is_plural, is_thing

TOPICS = topic_names(["Calcinosis Cutis"], [
    "Treatment", "Classification", "Classification > Metastatic calcinosis cutis",
    "Classification > Dystrophic calcinosis cutis", "Classification > Tumoral calcinosis"])


@pytest.mark.parametrize("question, history, expected", [
    ("And how is it treated?", ["What causes metastatic calcinosis cutis?"],
     "How is metastatic calcinosis cutis treated?"),
    ("What are its symptoms?", ["What is tumoral calcinosis?"], "What are the symptoms of tumoral calcinosis?"),
    ("What is its most frequent cause?", ["What is metastatic calcinosis cutis?"],
     "What is the most frequent cause of metastatic calcinosis cutis?"),
    ("Where do its lesions appear?", ["What is tumoral calcinosis?"],
     "Where do tumoral calcinosis's lesions appear?"),
    ("What about dystrophic?", ["What causes metastatic calcinosis cutis?"],
     "What causes dystrophic calcinosis cutis?"),
    ("Is this condition painful?", ["What is calcinosis cutis?"], "Is calcinosis cutis painful?"),
    # a follow-up of a follow-up keeps the topic of the conversation
    ("Who gets it?", ["What is tumoral calcinosis?", "Where does it appear?"], "Who gets tumoral calcinosis?"),
])
def test_follow_ups_become_standalone(question, history, expected):
    earlier: list[str] = []
    for turn in history:
        earlier.append(rewrite(turn, earlier, TOPICS))
    assert rewrite(question, earlier, TOPICS) == expected


@pytest.mark.parametrize("question", [
    "What is dystrophic calcinosis cutis?",  # names its own topic
    "Which drug is a calcium channel blocker?",  # refers to nothing earlier
])
def test_standalone_questions_are_left_alone(question):
    assert rewrite(question, ["What causes metastatic calcinosis cutis?"], TOPICS) == question


def test_no_history_no_rewrite():
    assert rewrite("How is it treated?", [], TOPICS) == "How is it treated?"


def test_aspect_headings_are_not_topics():
    assert "treatment" not in TOPICS and "classification" not in TOPICS
    assert [len(t) for t in TOPICS] == sorted((len(t) for t in TOPICS), reverse=True)  # longest first


def test_ask_with_history_retrieves_for_the_rewritten_question(settings, fake_embedder):
    history = ["What causes metastatic calcinosis cutis?"]
    llm = FakeLLM("Chronic renal failure is the most frequent underlying cause [1].")
    answer = ask("And what is its most frequent cause?", llm=llm, history=history, settings=settings,
                 embedder=fake_embedder)
    assert answer.question == "And what is its most frequent cause?"
    assert answer.standalone == "What is the most frequent cause of metastatic calcinosis cutis?"
    assert answer.citations[0].section == "Classification > Metastatic calcinosis cutis"
    assert "metastatic calcinosis cutis" in llm.seen[0][1]["content"]  # the model saw the standalone form
    # without the history the same words name no topic, and are not rewritten
    alone = ask("And what is its most frequent cause?", llm="extractive", settings=settings,
                embedder=fake_embedder)
    assert alone.standalone == alone.question


def test_history_is_validated_like_a_question(settings, fake_embedder):
    with pytest.raises(InvalidQuestion):
        ask("How is it treated?", llm="extractive", history=["   "], settings=settings, embedder=fake_embedder)
    with pytest.raises(InvalidQuestion):
        ask("How is it treated?", llm="extractive", history=[42], settings=settings, embedder=fake_embedder)


def test_answer_carries_the_index_version(settings, fake_embedder):
    from ingest import read_manifest

    answer = ask("What is calcinosis cutis?", llm="extractive", settings=settings, embedder=fake_embedder)
    assert answer.index_version == read_manifest(settings.index_path)["version"]


# Natural two- and three-turn conversations on the seed, as a user types them; the last
# question's expected standalone form (how it is retrieved and shown beside the sources).
CONVERSATIONS = [
    (["What causes metastatic calcinosis cutis?", "And how is it treated?"],
     "How is metastatic calcinosis cutis treated?"),
    (["Which areas are affected in systemic sclerosis?", "and how is that treated?"],
     "How is systemic sclerosis treated?"),
    (["How does dystrophic calcinosis differ from the metastatic kind clinically?",
      "how is it treated, and how do the drugs work?"],
     "How is dystrophic calcinosis cutis treated, and how do the drugs work?"),
    (["Where do the lesions of tumoral calcinosis appear?", "what about in children?"],
     "Where do the lesions of tumoral calcinosis appear in children?"),
    (["What is tumoral calcinosis?", "Who gets it?"], "Who gets tumoral calcinosis?"),
    (["What is idiopathic scrotal calcinosis?", "At what age does it start?"],
     "At what age does idiopathic scrotal calcinosis start?"),
    (["What is osteoma cutis?", "What does it look like?"], "What does osteoma cutis look like?"),
    (["What is iatrogenic calcinosis cutis?", "What causes it?"], "What causes iatrogenic calcinosis cutis?"),
    (["What causes iatrogenic calcinosis cutis?", "What about traumatic?"],
     "What causes traumatic calcinosis cutis?"),
    (["What is calcinosis cutis?", "What are its symptoms?"], "What are the symptoms of calcinosis cutis?"),
    (["What is tumoral calcinosis?", "Who gets it?", "Where are its deposits?"],
     "Where are the deposits of tumoral calcinosis?"),
    (["What is dystrophic calcinosis cutis?", "What is it made of?", "And what illnesses is it linked to?"],
     "What illnesses is dystrophic calcinosis cutis linked to?"),
    (["What is a subepidermal calcified nodule?", "Where does it occur?"],
     "Where does subepidermal calcified nodule occur?"),
    (["What is traumatic calcinosis cutis?", "Which workers get it?"],
     "Which workers get traumatic calcinosis cutis?"),
    (["Where do the lesions appear in dermatomyositis?", "And in lupus erythematosus?"],
     "Where do the lesions appear in lupus erythematosus?"),
    (["How is calcinosis cutis treated?", "What about in children?"],
     "How is calcinosis cutis treated in children?"),
    (["What causes metastatic calcinosis cutis?", "Which drug is a calcium channel blocker?"],
     "Which drug is a calcium channel blocker?"),  # refers to nothing earlier: as asked
    (["Which areas does it affect?", "And what causes that?"], "And what causes that?"),  # nothing to resolve
    # the browser trial: an aspect or a group is never what the conversation is about
    (["What is calcinosis cutis?", "What are the symptoms?", "how is it diagnosed?"],
     "How is calcinosis cutis diagnosed?"),
    (["What is calcinosis cutis?", "What are the symptoms?", "what about the idiopathic kind?"],
     "What are the symptoms of idiopathic calcinosis cutis?"),
    (["What is calcinosis cutis?", "What are the causes in children?", "how is that treated?"],
     "How is calcinosis cutis treated?"),
]


@pytest.mark.parametrize("turns, expected", CONVERSATIONS, ids=[c[0][-1] for c in CONVERSATIONS])
def test_natural_conversations_on_the_seed(settings, fake_embedder, turns, expected):
    *history, question = turns
    answer = ask(question, llm="extractive", history=history, settings=settings, embedder=fake_embedder)
    assert answer.standalone == expected
    assert answer.question == question


def test_a_follow_up_is_answered_from_the_section_it_is_about(settings, fake_embedder):
    answer = ask("Whom does it mainly affect?", llm="extractive", history=["What is tumoral calcinosis?"],
                 settings=settings, embedder=fake_embedder)
    assert answer.standalone == "Whom does tumoral calcinosis mainly affect?"
    assert not answer.abstained
    assert answer.citations[0].section == "Classification > Tumoral calcinosis"
    assert "teens" in answer.text


def test_the_interactive_cli_keeps_the_conversation(settings, fake_embedder, monkeypatch, capsys):
    from app.cli import main
    from ingest import embedders

    monkeypatch.setitem(embedders._cache, fake_embedder.name, fake_embedder)
    for key, value in {"SOURCEQA_HOME": settings.home, "SOURCEQA_CORPUS_DIR": settings.corpus_dir,
                       "SOURCEQA_EMBEDDER": fake_embedder.name, "SOURCEQA_JUDGE": "fake",
                       "SOURCEQA_LLM": "extractive"}.items():
        monkeypatch.setenv(key, str(value))
    typed = iter(["What is tumoral calcinosis?", "Whom does it mainly affect?", "new", "Whom does it mainly affect?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    assert main(["ask"]) == 0
    out = capsys.readouterr().out
    assert out.count("(answered as: Whom does tumoral calcinosis mainly affect?)") == 1
    assert "(new conversation)" in out


def test_feedback_drafts_keep_the_typed_question_and_the_rewrite_apart():
    from app.feedback import FeedbackEntry, draft_cases

    entry = FeedbackEntry("a1", "Who gets it?", "Who gets tumoral calcinosis?", "Teens. [1]", False, [],
                          "extractive", "v-1", "down", "wrong")
    [draft] = draft_cases([entry])
    assert draft["question"] == "Who gets it?" and draft["standalone"] == "Who gets tumoral calcinosis?"


# -- the rule, on the seed and on two made-up corpora ---------------------------------------
def _corpus(text: str, title: str, headings: list[str]) -> tuple[list[str], object]:
    """(topics, mentions) as the engine has them: ``index.topics`` and ``index.mentions``."""
    def mentions(phrase: str) -> bool:
        words = phrase.split()
        return bool(words) and re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", text,
                                         re.IGNORECASE) is not None
    return topic_names([title], headings), mentions


SEED_CORPUS = _corpus(SEED.read_text(encoding="utf-8"), "Calcinosis Cutis", [
    "Signs and symptoms", "Causes", "Diagnosis", "Classification", "Classification > Dystrophic calcinosis cutis",
    "Classification > Metastatic calcinosis cutis", "Classification > Idiopathic calcinosis cutis",
    "Classification > Idiopathic scrotal calcinosis", "Classification > Iatrogenic calcinosis cutis",
    "Classification > Traumatic calcinosis cutis", "Classification > Tumoral calcinosis",
    "Classification > Subepidermal calcified nodule", "Classification > Osteoma cutis", "Treatment"])
# Another disease with kinds, and a device manual whose parts are its topics (some plural).
SKIN = _corpus(
    "Epidermolysis bullosa is a group of inherited disorders in which the skin blisters. Newborns with the "
    "junctional kind often have blisters at birth. Epidermolysis bullosa simplex is the most common type. "
    "Dystrophic epidermolysis bullosa scars the skin. Kindler syndrome makes the skin sensitive to light. "
    "Wound care and pain relief are the main treatment; gene therapy is being studied in adults and children.",
    "Epidermolysis bullosa", ["Signs and symptoms", "Types", "Types > Epidermolysis bullosa simplex",
                              "Types > Junctional epidermolysis bullosa", "Types > Dystrophic epidermolysis bullosa",
                              "Types > Kindler syndrome", "Diagnosis", "Treatment"])
PUMP = _corpus(
    "The Aquaflow pump circulates pool water through a filter. The sand filter is backwashed weekly. The "
    "cartridge filter is rinsed with a hose. Skimmer baskets catch leaves and are emptied daily. Heat pumps "
    "warm the water. The control panel shows the flow rate. Leaks in the pump housing are sealed with a gasket.",
    "Aquaflow pool pump", ["Sand filter", "Cartridge filter", "Skimmer baskets", "Heat pumps", "Control panel"])

# (corpus, the turns as typed, the last one's standalone form, what it is about)
RULE_CASES = [
    # the browser trial's conversations
    (SEED_CORPUS, ["What is calcinosis cutis?", "What are the symptoms?", "how is it diagnosed?"],
     "How is calcinosis cutis diagnosed?", "calcinosis cutis"),
    (SEED_CORPUS, ["What is calcinosis cutis?", "What are the symptoms?", "how is it diagnosed?", "how is that treated?"],
     "How is calcinosis cutis treated?", "calcinosis cutis"),
    (SEED_CORPUS, ["What is calcinosis cutis?", "What are the symptoms?", "what about the idiopathic kind?"],
     "What are the symptoms of idiopathic calcinosis cutis?", "idiopathic calcinosis cutis"),
    (SEED_CORPUS, ["What is calcinosis cutis?", "What are the causes in children?", "how is that treated?"],
     "How is calcinosis cutis treated?", "calcinosis cutis"),
    (SEED_CORPUS, ["What is calcinosis cutis?", "What are the symptoms?"],
     "What are the symptoms of calcinosis cutis?", "calcinosis cutis"),
    # "the X kind": the topic the conversation already names wins over the shorter one
    (SEED_CORPUS, ["What is idiopathic scrotal calcinosis?", "What is the idiopathic kind made of?"],
     "What is idiopathic scrotal calcinosis made of?", "idiopathic scrotal calcinosis"),
    (SEED_CORPUS, ["How is dystrophic calcinosis cutis treated?", "and in children?"],
     "How is dystrophic calcinosis cutis treated in children?", "dystrophic calcinosis cutis"),
    (SEED_CORPUS, ["How is calcinosis cutis treated?", "what about children?"],
     "How is calcinosis cutis treated in children?", "calcinosis cutis"),
    (SEED_CORPUS, ["What causes tumoral calcinosis?", "What about the treatment?"],
     "What is the treatment of tumoral calcinosis?", "tumoral calcinosis"),
    (SEED_CORPUS, ["Which areas are affected in systemic sclerosis?", "Is this kind painful?"],
     "Is systemic sclerosis painful?", "systemic sclerosis"),
    # a plural pronoun for a singular thing: the verb agrees; an "it" that stands for nothing stays
    (SEED_CORPUS, ["What is osteoma cutis?", "How are they treated?"], "How is osteoma cutis treated?", "osteoma cutis"),
    (SEED_CORPUS, ["What is osteoma cutis?", "What happens when they grow?"],
     "What happens when osteoma cutis grows?", "osteoma cutis"),
    (SEED_CORPUS, ["What is osteoma cutis?", "Is it true that it itches?"],
     "Is it true that osteoma cutis itches?", "osteoma cutis"),
    (SKIN, ["What is epidermolysis bullosa?", "What are the symptoms?", "how is it diagnosed?"],
     "How is epidermolysis bullosa diagnosed?", "epidermolysis bullosa"),
    (SKIN, ["What is epidermolysis bullosa?", "what about the junctional kind?"],
     "What is junctional epidermolysis bullosa?", "junctional epidermolysis bullosa"),
    (SKIN, ["What causes dystrophic epidermolysis bullosa?", "And what about the simplex form?"],
     "What causes epidermolysis bullosa simplex?", "epidermolysis bullosa simplex"),
    (SKIN, ["What is Kindler syndrome?", "Is it inherited?"], "Is Kindler syndrome inherited?", "Kindler syndrome"),
    (SKIN, ["How is epidermolysis bullosa treated?", "And in newborns?"],
     "How is epidermolysis bullosa treated in newborns?", "epidermolysis bullosa"),
    (SKIN, ["What is epidermolysis bullosa?", "Is gene therapy used in children?", "What are its types?"],
     "What are the types of epidermolysis bullosa?", "epidermolysis bullosa"),
    (PUMP, ["How do I clean the sand filter?", "How often should it be replaced?"],
     "How often should the sand filter be replaced?", "the sand filter"),
    (PUMP, ["How do I clean the sand filter?", "What about the cartridge kind?"],
     "How do I clean the cartridge filter?", "the cartridge filter"),
    (PUMP, ["What are heat pumps?", "Is it noisy?"], "Are heat pumps noisy?", "heat pumps"),
    (PUMP, ["What does the control panel show?", "Where are they?"], "Where is the control panel?",
     "the control panel"),
    (PUMP, ["What are skimmer baskets?", "Where do they sit?"], "Where do skimmer baskets sit?", "skimmer baskets"),
    (PUMP, ["What is the control panel?", "What does it look like when it fails?"],
     "What does the control panel look like when it fails?", "the control panel"),
    (PUMP, ["Where do leaks appear in the pump housing?", "how is that repaired?"],
     "How is the pump housing repaired?", "the pump housing"),
    (PUMP, ["How is the sand filter backwashed?", "What about the maintenance?"],
     "What is the maintenance of the sand filter?", "the sand filter"),
]


def _standalone(turns: list[str], topics, mentions) -> str:
    """The last turn's standalone form, the way ``Engine.standalone`` makes it."""
    earlier: list[str] = []
    for turn in turns[:-1]:
        earlier.append(rewrite(turn, earlier, topics, mentions))
    return rewrite(turns[-1], earlier, topics, mentions)


_VERBS = {"is": False, "are": True, "was": False, "were": True, "does": False, "do": True, "has": False, "have": True}


def assert_well_formed(question: str, subject: str, topics, mentions) -> None:
    """A rewrite reads as a question a person would type about ``subject``."""
    assert question[0].isupper() and question.endswith("?"), question
    assert not re.search(r"\b(\w+)\s+\1\b", question, re.IGNORECASE), f"a doubled word: {question}"
    assert subject in question, f"{subject!r} not spliced in whole: {question}"
    assert subject.lower().removeprefix("the ") in topics or is_thing(subject), f"{subject!r} is not a thing"
    about = subject_of(question, topics, mentions)
    assert about is None or about.lower().removeprefix("the ") in topics or is_thing(about), f"about {about!r}"
    for verb, plural in _VERBS.items():  # "is calcinosis cutis", "heat pumps are"
        for found in (re.search(rf"\b{verb}\s+{re.escape(subject)}\b", question, re.IGNORECASE),
                      re.search(rf"\b{re.escape(subject)}\s+{verb}\b", question, re.IGNORECASE)):
            assert not found or plural == is_plural(subject), f"{verb!r} with {subject!r}: {question}"
    for word in re.findall(r"\b(?:is|are|does|do)\s+(?:the\s+)?([\w-]+)\s+\w+ed\b", question, re.IGNORECASE):
        assert not is_aspect(word) and not is_group(word), f"{word!r} as the subject: {question}"


@pytest.mark.parametrize("corpus, turns, expected, subject", RULE_CASES, ids=[" / ".join(c[1]) for c in RULE_CASES])
def test_the_rule_resolves_references_to_the_thing_talked_about(corpus, turns, expected, subject):
    topics, mentions = corpus
    rewritten = _standalone(turns, topics, mentions)
    assert rewritten == expected
    assert_well_formed(rewritten, subject, topics, mentions)


@pytest.mark.parametrize("corpus, turns", [
    (SEED_CORPUS, ["What are the symptoms?", "how is it diagnosed?"]),  # no thing talked about yet
    (SEED_CORPUS, ["What is calcinosis cutis?", "What about the third kind?"]),  # "third" names no topic
    (PUMP, ["What is the sand filter?", "Which is the best brand?"]),  # nothing refers back
    (SKIN, ["What is epidermolysis bullosa?", "What about the lunar kind?"]),  # names no topic
])
def test_what_cannot_be_resolved_is_answered_as_asked(corpus, turns):
    topics, mentions = corpus
    assert _standalone(turns, topics, mentions) == turns[-1]


def test_aspects_and_groups_are_never_what_a_conversation_is_about():
    topics, mentions = SEED_CORPUS
    for question in ("What are the symptoms?", "What are the causes in children?", "What is the treatment?",
                     "What is the diagnosis?", "How is treatment done in children?"):
        assert subject_of(question, topics, mentions) is None, question
    assert subject_of("Which areas are affected in systemic sclerosis?", topics, mentions) == "systemic sclerosis"


def test_the_aspects_cover_the_headings_the_index_keeps_out_of_its_topics():
    assert TOP_LEVEL_SECTIONS <= ASPECTS
