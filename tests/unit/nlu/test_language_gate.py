"""Telling messages in other languages from English ones (bot/nlu/language_gate.py)."""

from __future__ import annotations

import time

import pytest
import yaml

from bot.content.checks import read_nlu_examples
from bot.nlu.language_gate import other_language, warm_up
from bot.settings import PROJECT_ROOT

OTHER_LANGUAGES = [
    ("Ist die Blase nach einer Ketamin-Behandlung gefährdet?", "de"),
    ("Was kostet eine Sitzung?", "de"),
    ("Wie lange dauert die Behandlung?", "de"),
    ("¿Es seguro el tratamiento con ketamina?", "es"),
    ("cuánto cuesta una sesión", "es"),
    ("Est-ce que la kétamine est dangereuse pour la vessie ?", "fr"),
    ("c'est dangereux ?", "fr"),
    ("combien coûte une séance", "fr"),
    ("la ketamina crea dipendenza?", "it"),
    ("quanto costa una seduta", "it"),
    ("é seguro para mim?", "pt"),
    ("Hoeveel kost een sessie?", "nl"),
    ("Czy ketamina uzależnia?", "pl"),
    ("这个治疗安全吗？", "zh"),
    ("氯胺酮会上瘾吗", "zh"),
    ("Это лечение безопасно?", "ru"),
    ("Сколько стоит сеанс?", "ru"),
    ("この治療は安全ですか？", "ja"),
    ("هل العلاج آمن؟", "ar"),
    ("Bu tedavi güvenli mi?", "tr"),
]
# English, however short or misspelt, and what visitors type into forms: never another language.
ENGLISH_OR_NOT_A_LANGUAGE = [
    "ok",
    "yes",
    "no thanks",
    "Yes, please",
    "stop",
    "B-7KQ2M9XA",
    "cancel B-7KQ2M9XA",
    "555 123 4567",
    "+1 (555) 123-4567",
    "john@example.com",
    "jürgen.müller@example.de",
    "Maria Garcia",
    "Jürgen Müller",
    "José Luis Rodríguez",
    "François Dupont",
    "Wojciech Kowalski",
    "Zhang Wei",
    "my name is Jürgen",
    "friday at 10",
    "next tuesday afternoon",
    "wat hapens durng a sesion",
    "i want to kms",
    "kill myslef",
    "suicde",
    "I took too many of my lozenges and now my chest hurts",
    "my friend is having a bad trip right now what do I do",
    "is ketamine addictive?",
    "blah blah blah",
    "qwe qwe zzz",
    "asdfghjkl",
    "72 fahrenheit in celsius?",
]


@pytest.mark.parametrize(("text", "code"), OTHER_LANGUAGES)
def test_messages_in_other_languages_are_recognised(text, code):
    found = other_language(text)
    assert found is not None and found.code == code, (text, found)


@pytest.mark.parametrize("text", ENGLISH_OR_NOT_A_LANGUAGE)
def test_english_and_form_answers_are_never_another_language(text):
    assert other_language(text) is None


def test_no_training_example_or_question_of_the_english_sets_is_another_language():
    texts = [t for examples in read_nlu_examples().values() for t in examples]
    for name in ("tests/eval/questions.yml", "bench/dev_questions.yml"):
        items = yaml.safe_load((PROJECT_ROOT / name).read_text(encoding="utf-8"))
        texts += [i["text"] for i in items if i["topic"] != "other_language"]
    assert len(texts) > 2000
    assert [t for t in texts if other_language(t)] == []


def test_identifying_a_message_takes_well_under_two_milliseconds():
    warm_up()
    messages = [
        f"{n} Wie lange dauert die Behandlung und was kostet sie insgesamt?" for n in range(200)
    ]
    messages += [f"{n} how long does a session last and what does it cost" for n in range(200)]
    messages += ["Ich habe eine Frage zur Behandlung. " * 60]  # a long one is read in part
    start = time.perf_counter()
    for text in messages:
        other_language(text)
    per_message = (time.perf_counter() - start) / len(messages)
    assert per_message < 0.002, per_message
