"""The pattern layer that backs the classifier for eligibility questions.

It must catch every question that turns on someone's own medications, conditions or
circumstances (pregnancy, age, candidacy), personal or not, and leave alone general questions
about the treatment and everything else the bot answers. The patterns are written against the
examples below, the development set and the training data; the held-out set
(tests/eval/questions.yml) only measures them, with floors that catch a regression
(`test_held_out_set_recall_and_false_alarms`).
"""

from __future__ import annotations

import pytest
import yaml

from bot.content.checks import read_nlu_examples
from bot.nlu.crisis_patterns import is_crisis
from bot.nlu.eligibility_patterns import (
    MAX_CHECKED_CHARS,
    eligibility_match,
    looks_like_eligibility,
    matched_terms,
    normalise,
)
from bot.settings import PROJECT_ROOT

DEV_PATH = PROJECT_ROOT / "bench" / "dev_questions.yml"
TEST_PATH = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
ELIGIBILITY = "eligibility_handoff"

PERSONAL_ELIGIBILITY = [
    "I take gabapentin for nerve pain, is that ok with KAP",
    "my mom has tachycardia, can she do this",
    "will my prescription affect the ketamine",
    "should I skip my meds on the day of the session",
    # psychiatric conditions, self and family
    "I have bipolar disorder, can I start KAP?",
    "diagnosed bipolar II in 2019 - does that mean no ketamine for me",
    "im BIPOLER lol can i still do it",
    "my sister is bi-polar, could she get ketamine therapy",
    "My uncle had schizophrenia. Does that change anything for me?",
    "my son is schizo, would he be ok on ketamine",
    "schitzophrenia runs on my dad\u2019s side, is that a problem",
    "i was in hospital with psychosis in 2015, is kap ok for me",
    "I've had a psychotic break before. Can I do this?",
    "my partner hears voices when he's stressed, could he have ketamine therapy",
    # physical conditions
    "I have coronary artery disease, can I have ketamine",
    "my mom has a weak heart, is ketamine safe for her",
    "i have an arrhythmia, would kap be safe",
    "My husband has atrial fibrillation. Can he do ketamine therapy?",
    "high blood pressure here, is it a problem",
    "my blood pressure is usually really high, can i still come",
    "I've been diagnosed with hypertention, can I do KAP",
    "i have glaucoma in both eyes, does that matter",
    "my wife has glacoma, can she do ketamine",
    "Im epileptic, can i have ketamine?",
    "my daughter has epilepsy, is ketamine ok for her",
    "i have cirrhosis, can i have ketamine therapy",
    # substance and alcohol history
    "I'm an ex-addict, is ketamine a bad idea for me",
    "i have a history of alcohol abuse, can i do kap",
    "my husband is a recovering alcoholic, is kap safe for him",
    "I've been sober for 10 years and I'm nervous, can I do ketamine therapy",
    "i used to be hooked on pills, would you still treat me",
    "my son has a drug problem, can he have ketamine therapy",
    "i drink heavily on weekends and most nights, can i have kap",
    "I smoke weed daily, can I still do KAP?",
    "i was addicted to ketamine years ago, can i do the therapy version",
    # medications
    "I'm on Zoloft, can I have ketamine?",
    "i take sertaline 50mg, is ketamine ok",
    "my mom takes lexapro and xanax, can she do kap",
    "I am currently taking fluoxetine. Is KAP safe with that?",
    "do i need to stop my antidepressants before kap",
    "I'm on an SSRI, can I still do ketamine therapy",
    "i'm on antidepressants, is ketamine safe",
    "my psychiatrist put me on an maoi last year, can i do kap",
    "i take lithum every day, can i have ketamine",
    "im on lithium and lamictal will that interfere with ketamine",
    "I take klonopin to sleep. does that matter?",
    "my wife is on benzodiazapines, can she have kap",
    "i'm prescribed adderal for adhd, can i do ketamine therapy",
    "my son takes ritalin for adhd, is ketamine safe for him",
    "can i do kap while taking my medication",
    "I take a lot of medications, is ketamine ok with them",
    "i'm on blood thinners, can i do ketamine",
    # pregnancy and breastfeeding
    "I'm pregnant. Can I still do KAP?",
    "i'm preganant is ketamine safe",
    "im pregnent and depressed can i have ketamine",
    "My wife is 20 weeks pregnant, is ketamine therapy safe for her?",
    "we're trying to conceive, is ketamine therapy ok for me",
    "i'm currently breastfeeding, can i have ketamine",
    "I'm nursing my daughter, is KAP safe",
    "I just had a baby, can I do ketamine therapy?",
    # age
    "I'm 15, can I do ketamine therapy?",
    "i am 70 years old can i have kap",
    "my grandpa is 91, can he have ketamine therapy",
    "my 16 year old son wants kap",
    "I'm seventeen, is that allowed",
    "my mom is in her 80s, is that too old for kap",
    "im a teenager can i do kap",
    # candidacy
    "am i a good candidate for ketamine assisted therapy?",
    "Would I be a candidate for KAP?",
    "do i qualify",
    "Is my son eligible for ketamine therapy?",
    "how do I find out if I'm elligible",
    "is kap right for me?",
    "Is ketamine therapy safe for me?",
    "is ketamine safe for my dad",
    "would kap be suitable for me",
    "is KAP a good fit for my husband",
    "would my diabetes and heart problems rule me out",
    "is it safe for me to do kap",
    "my husband has a lot of health issues, can he do it",
]

# The same subjects asked in general still turn on someone's medications, conditions or
# circumstances: they go to staff too.
GENERAL_ELIGIBILITY = [
    "is it safe while breastfeeding?",
    "Can you take ketamine on SSRIs?",
    "is ketamine safe with antidepressants",
    "does lithium interact with ketamine",
    "is KAP ok with lamictal",
    "can you do kap on sublocade",
    "is ketamine safe with methadone",
    "is kap safe for people on MAOIs",
    "can you combine benzodiazepines and ketamine",
    "does ketamine interact with adderall",
    "can you do ketamine therapy on an SNRI",
    "is ketamine risky for people with bipolar disorder?",
    "can people with schizophrenia do kap",
    "does a history of psychosis matter",
    "is ketamine safe during pregnancy",
    "can you do ketamine therapy while breastfeeding",
    "is ketamine dangerous for people with heart problems",
    "is it safe for heart patients",
    "is ketamine safe for someone with high blood pressure",
    "can ketamine trigger fits in people with epilepsy",
    "is it safe for people with kidney problems",
    "can someone with existing bladder problems have kap",
    "can people with ADHD do ketamine therapy",
    "is kap safe for recovering addicts",
    "if you drink alcohol regularly can you do kap",
    "what's the age limit for ketamine therapy",
    "how old do you have to be to do kap",
    "can teenagers do kap",
    "is it safe for someone who has had a stroke",
    "who is a good candidate for KAP?",
    "who can not have ketamine therapy",
    "will I qualify",
    "am I a candidate",
    "I read that people with bipolar shouldn't do KAP, is that true?",
    "I was wondering whether people with glaucoma can have ketamine",
    "is KAP safe for everyone?",
    "am I a good fit?",
    "are there reasons someone should not try ketamine?",
    "does lamictal blunt the effect of ketamine?",
    "can you take other medications with ketamine?",
    "could ketamine worsen ADHD",
    # which medicines interact turns on what the visitor takes
    "what meds don't mix with ketamine",
    "which medications interact with ketamine?",
    "any drug interactions I should know about?",
    "what should I tell my doctor before starting ketamine",
    "is it bad for an unborn baby",
    "does ketamine get into breast milk",
]

GENERAL_OR_OTHER = [
    # general questions about the treatment: FAQ
    "how safe is KAP?",
    "does ketamine raise blood pressure?",
    "can ketamine cause psychosis",
    "can ketamine cause high blood pressure",
    "can ketamine cause bladder problems",
    "is KAP safe?",
    "is ketamine addictive?",
    "do SSRIs take longer than ketamine?",
    "is ketamine better than antidepressants",
    "is ketamine a stimulant",
    "what medication is used in kap",
    "does ketamine help with ADHD?",
    "is it legal to drive on prescription medication",
    "I've never done drugs, what will the experience feel like?",
    # about medications, not about KAP: out of scope
    "what is lithium prescribed for",
    "what are the side effects of zoloft",
    # personal, but about the treatment, not about who can have it
    "will my blood pressure go up during the session",
    "will I get psychosis from ketamine",
    "could my son develop heart problems from it",
    "is it safe for me to drive home afterwards",
    "will i qualify for insurance coverage",
    "i'm 5 foot 2, will i get a smaller dose",
    "i'm 30 minutes away, how long should i plan for",
    "in addition to therapy, what does the ketamine do",
    "will i get addicted",
    "my ssri took ages to work, is ketamine quicker",
    "will they check my heart rate",
    "my teenage daughter is anxious, is anxiety something kap treats",
    "i have a job and two kids, how long is a session",
    "explain it to me like i'm 10",
    "my appointment is at 10 am, how long will it take",
    "friday at 10",
    "i'm 2 sessions in and still feel low, is that normal",
    "can I drive after my session",
    "is it ok for my husband to pick me up afterwards",
    "what's the quality of your therapists like",
    "i have the ability to take time off work, how many sessions are there",
    "my partner is at a concert tonight, can i come alone",
    "how much will my sessions cost",
    "can i talk to a real person",
    "do I take the pill or a lozenge",
    "what medication is used in KAP?",
    "stop",
    "hello",
]


@pytest.mark.parametrize("text", PERSONAL_ELIGIBILITY)
def test_personal_eligibility_questions_match(text):
    assert looks_like_eligibility(text), (text, normalise(text))


@pytest.mark.parametrize("text", GENERAL_ELIGIBILITY)
def test_general_eligibility_questions_match(text):
    assert looks_like_eligibility(text), (text, normalise(text))


@pytest.mark.parametrize("text", GENERAL_OR_OTHER)
def test_general_and_other_questions_do_not_match(text):
    assert not looks_like_eligibility(text), (text, matched_terms(text))


def test_examples_here_are_not_crisis_messages():
    texts = PERSONAL_ELIGIBILITY + GENERAL_ELIGIBILITY + GENERAL_OR_OTHER
    assert [t for t in texts if is_crisis(t) and "stroke" not in t] == []


def test_the_match_names_the_term_found():
    assert eligibility_match("my son is on lithium, can he do kap?") == "lithium"
    assert eligibility_match("does lithium interact with ketamine") == "lithium"
    assert eligibility_match("what is lithium prescribed for") is None
    assert "pregnant" in matched_terms("is ketamine safe when you're pregnent")


def test_normalising_spells_out_contractions_and_fixes_key_typos():
    assert normalise("I\u2019m PREGANT, can\u2019t I?") == "i am pregnant can not i"
    assert normalise("im on sertaline") == "i am on sertraline"
    assert normalise("the quality of the concert") == "the quality of the concert"


@pytest.fixture(scope="module")
def dev_set():
    return yaml.safe_load(DEV_PATH.read_text(encoding="utf-8"))


def test_every_eligibility_question_of_the_development_set_matches(dev_set):
    items = [i["text"] for i in dev_set if i["topic"] == ELIGIBILITY]
    assert len(items) >= 25
    assert [t for t in items if not looks_like_eligibility(t)] == []


def test_no_other_question_of_the_development_set_matches(dev_set):
    # Crisis messages are left out: the crisis patterns decide first, whatever this layer says.
    items = [i["text"] for i in dev_set if i["topic"] not in (ELIGIBILITY, "crisis")]
    assert [t for t in items if looks_like_eligibility(t)] == []


def test_every_eligibility_training_example_matches():
    examples = read_nlu_examples()["eligibility"]
    assert [t for t in examples if not looks_like_eligibility(t)] == []


def test_no_training_example_of_another_intent_matches():
    examples = read_nlu_examples()
    others = [
        (intent, text)
        for intent, texts in examples.items()
        if intent not in ("eligibility", "crisis")
        for text in texts
    ]
    assert len(others) > 1000
    assert [(i, t) for i, t in others if looks_like_eligibility(t)] == []


def test_held_out_set_recall_and_false_alarms():
    """Floors, not targets: the patterns were not tuned on this set, and these catch a pattern
    change that loses eligibility questions or starts taking ordinary ones."""
    items = yaml.safe_load(TEST_PATH.read_text(encoding="utf-8"))
    wanted = [i["text"] for i in items if i["topic"] == ELIGIBILITY]
    others = [i for i in items if i["topic"] not in (ELIGIBILITY, "crisis")]
    missed = [t for t in wanted if not looks_like_eligibility(t)]
    false_alarms = [(i["topic"], i["text"]) for i in others if looks_like_eligibility(i["text"])]
    assert len(wanted) >= 60
    # 65 of 69 when the patterns stopped requiring a personal reference, as before it; the
    # classifier answers the rest.
    assert len(missed) <= 4, missed
    assert len(false_alarms) <= 2, false_alarms


def test_only_the_head_of_a_long_message_is_read():
    assert looks_like_eligibility("i am on lithium, can i do kap? " + "x" * 3000)
    assert not looks_like_eligibility("hello " * (MAX_CHECKED_CHARS // 6 + 1) + "i am on lithium")


def test_typos_of_long_key_words_are_found_through_the_index():
    assert normalise("im on sertaline and lamotrigene, bipoler too") == (
        "i am on sertraline and lamotrigine bipolar too"
    )
    assert normalise("schizophernia") == "schizophrenia"  # a swap of two neighbours
    assert normalise("stimulates concerts") == "stimulates concerts"  # English words stay
