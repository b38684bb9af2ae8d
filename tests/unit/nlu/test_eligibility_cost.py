"""The eligibility check costs about the same for any message (issue 14: two clients sending
"my" and 199 made-up words slowed every visitor down). Its work is counted, not timed: the
edit-distance comparisons typo fixing makes, and which words it looks up at all."""

from __future__ import annotations

import random
import string

from bot.nlu import eligibility_patterns as patterns
from bot.nlu.eligibility_patterns import MAX_COMPARISONS, fix_typos, looks_like_eligibility


def made_up_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.choice((8, 9))))
        for _ in range(count)
    ]


def test_the_attack_message_costs_a_bounded_number_of_comparisons():
    for seed in range(20):
        words = ["my", *made_up_words(199, seed)]
        _, compared = fix_typos(words)
        assert compared <= MAX_COMPARISONS


def test_words_made_to_be_near_key_words_stop_at_the_budget():
    # Every one of these is a typo of a key word: each costs comparisons until the budget ends.
    near = ["sertralin", "lithum", "bipolr", "adderal", "antidepresant", "benzodiazapine"] * 40
    fixed, compared = fix_typos(near)
    assert compared == MAX_COMPARISONS
    # Up to the budget they are still read as the key words.
    assert fixed[:6] == ["sertraline", "lithium", "bipolar", "adderall", "antidepressant",
                         "benzodiazepine"]  # fmt: skip


def test_a_long_made_up_word_is_never_expanded_into_deletion_variants():
    # Its variants would number in the tens of thousands; no key word is within reach anyway.
    word = "".join(made_up_words(40, seed=1))[:300]
    assert patterns._candidates(word) == ()
    assert fix_typos([word]) == ([word], 0)


def test_ordinary_questions_need_a_few_comparisons_and_keep_their_typo_fixes():
    for question in [
        "can i do kap if i take sertralin",
        "im on lithum and wellbutrin is that ok",
        "is ketamine addictive",
    ]:
        _, compared = fix_typos(question.split())
        assert compared <= 3
    assert looks_like_eligibility("can i do kap if i take sertralin")
    assert looks_like_eligibility("my mom has bipolr, can she try it")
    assert not looks_like_eligibility("my " + " ".join(made_up_words(199, seed=3)))
