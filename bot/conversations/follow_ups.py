"""What a visitor's next message says about the answer they just got: did they ask the same
thing again in other words, say it was not what they asked, or ask for a person? Any of these
after a confident answer suggests the answer was wrong (bot/conversations/inbox.py lists such
questions).
"""

from __future__ import annotations

import re

REPHRASED = "rephrased"
COMPLAINED = "not what I asked"
ASKED_FOR_A_PERSON = "asked for a person"
HUMAN_REQUEST_INTENT = "human_request"

# Two messages are the same question when at least half of their content words (crudely
# stemmed) are shared: "is ketamine addictive" / "can you get addicted to ketamine?".
MIN_SHARED_WORDS = 0.5
STEM_LENGTH = 5  # "addictive" and "addicted" share "addic"
_WORD = re.compile(r"[a-z0-9]+")
_FILLER = frozenset(
    """a about am an and any are as at be been being but by can could did do does doing for
    from get got had has have how i i'm if in is it its it's just like me my of on or please
    really so some tell that the then there this to too u um was we what when where which who
    why will with would you your ok okay hey hi so again mean meant asking ask asked question
    know want wanted i'd i've id ive""".split()
)
# "that's not what I asked", "wrong answer", "you didn't answer my question", …
_COMPLAINT = re.compile(
    r"\b("
    r"not\s+what\s+i\s+(asked|meant|wanted|said)"
    r"|(that|this|it)\s*(is|was|s)?\s+not\s+(my|the)\s+question"
    r"|^\W*not\s+(my|the)\s+question"
    r"|wrong\s+(answer|reply|response|topic|info(rmation)?)"
    r"|(didn\s*t|did\s+not|doesn\s*t|does\s+not|don\s*t|do\s+not|never|not)\s+answer(ed)?"
    r"\s+(my|the|what)"
    r"|(you|u)\s+(misunderstood|misread|got\s+it\s+wrong)"
    r"|(not|nothing)\s+to\s+do\s+with\s+(my|what)"
    r")",
    re.IGNORECASE,
)


def _plain(text: str) -> str:
    return text.replace("’", "'").replace("'", " ").casefold()


def content_words(text: str) -> set[str]:
    """The message's words without fillers, each cut to its first STEM_LENGTH letters."""
    words = _WORD.findall(_plain(text))
    return {w[:STEM_LENGTH] for w in words if w not in _FILLER and len(w) > 1}


def is_rephrase(first: str, second: str) -> bool:
    """`second` asks what `first` asked, in other or the same words."""
    before, after = content_words(first), content_words(second)
    if not before or not after:
        return False
    return len(before & after) / len(before | after) >= MIN_SHARED_WORDS


def is_complaint(text: str) -> bool:
    """The visitor says the answer was not what they asked."""
    return bool(_COMPLAINT.search(_plain(text)))


def judge(
    question: str,
    answered_topic: str | None,
    follow_up: str,
    follow_up_intent: str | None,
    follow_up_topic: str | None,
) -> str | None:
    """Why the follow-up casts doubt on the answer to `question`, or None: a complaint, a request
    for a person (intent human_request), or the same question again (shared words, or the same
    topic asked for again)."""
    if is_complaint(follow_up):
        return COMPLAINED
    if follow_up_intent == HUMAN_REQUEST_INTENT:
        return ASKED_FOR_A_PERSON
    if is_rephrase(question, follow_up):
        return REPHRASED
    if answered_topic and follow_up_topic == answered_topic:
        return REPHRASED
    return None
