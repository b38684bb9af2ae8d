"""High-recall patterns for messages about suicide, self-harm, overdose or a medical emergency.

The classifier learns `crisis` from examples, but a visitor in danger must never depend on a
statistical model alone. These patterns back it up: when one matches, the message is a crisis
whatever the classifier thought. They err on the side of matching; a false alarm costs a visitor
one extra message with emergency numbers, a miss could cost far more.
"""

from __future__ import annotations

import re
import unicodedata

_PATTERNS = [
    # suicide, in its many spellings and euphemisms
    r"\bsuicid\w*",
    r"\bsu[i1]c[i1]d\w*",
    r"\bkill(?:ing|ed)?\s+(?:my\s*self|myself|me)\b",
    r"\bkms\b",
    r"\bend(?:ing)?\s+(?:it\s+all|my\s+(?:own\s+)?life|things)\b",
    r"\btake\s+my\s+(?:own\s+)?life\b",
    r"\b(?:want|wanna|wish|going|plan(?:ning)?)\s+(?:to\s+)?(?:die|be\s+dead)\b",
    r"\bwant(?:ed)?\s+to\s+die\b",
    r"\b(?:how|way|ways|easiest|quickest|painless)\s+(?:\w+\s+)?to\s+die\b",
    r"\bdone\s+with\s+(?:life|living|it\s+all|everything)\b",
    r"\bkill\s+(?:someone|somebody|a\s+person|people|him|her|them)\b",
    r"\bbetter\s+off\s+(?:dead|without\s+me)\b",
    # warning signs that name no method: hopelessness, being a burden, saying goodbye
    r"\btired\s+of\s+(?:being\s+alive|living|life|it\s+all)\b",
    r"\b(?:can'?t|cannot)\s+go\s+on\b",
    r"\b(?:no\s*one|nobody)\s+would\s+(?:miss|care\s+if)\b",
    r"\b(?:i'?m|i\s+am|being)\s+(?:just\s+)?a\s+burden\b",
    r"\bwant\s+it\s+all\s+to\s+(?:stop|end)\b",
    r"\bwish\s+i\s+(?:was|were)\s+(?:never\s+born|dead|gone)\b",
    r"\bwish\s+i\s+(?:wasn'?t|weren'?t)\s+(?:here|alive|around)\b",
    r"\b(?:sleep|go\s+to\s+sleep)\s+and\s+(?:never|not)\s+wake\s+up\b",
    r"\bgiv(?:e|ing)\s+(?:away\s+)?(?:all\s+)?my\s+(?:things|stuff|belongings)\s*(?:away)?\b",
    r"\b(?:don'?t|do\s+not|dont)\s+want\s+to\s+(?:live|be\s+(?:here|alive)|wake\s+up|exist)\b",
    r"\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|go(?:ing)?\s+on)\b",
    r"\bnot\s+want(?:ing)?\s+to\s+(?:live|be\s+alive)\b",
    r"\bhang(?:ing)?\s+my\s*self\b",
    r"\bjump(?:ing)?\s+off\s+(?:a|the)\s+(?:bridge|roof|building)\b",
    r"\blife\s+(?:isn'?t|is\s+not)\s+worth\s+living\b",
    # self-harm
    r"\bself[\s-]*harm\w*",
    r"\bharm(?:ing)?\s+my\s*self\b",
    r"\bhurt(?:ing)?\s+my\s*self\b",
    r"\bcut(?:ting)?\s+my\s*(?:self|wrists?|arms?|legs?)\b",
    r"\bburn(?:ing)?\s+my\s*self\b",
    # overdose and poisoning
    r"\bover[\s-]?dos\w*",
    r"\bo\.?d\.?(?:'?d|ed|ing|s)?(?=\W|$)",  # "OD", "OD'd", "O.D.", "ODing"
    r"\b(?:took|taken|swallowed)\s+(?:too\s+many|a\s+(?:lot|bunch|handful|bottle)\s+of|all\s+(?:of\s+)?(?:my|his|her|their|the))\b[^.?!]{0,30}?\b(?:pills?|tablets?|meds|medications?|sleeping\s+pills)\b",
    r"\btoo\s+many\s+(?:pills|tablets|meds)\b",
    r"\btook\s+(?:way\s+|far\s+)?too\s+much\b",
    r"\bswallowed\s+(?:a\s+bottle|the\s+whole|all)\b",
    r"\bpoison(?:ed|ing)\b",
    r"\blethal\b|\bfatal\s+(?:dose|amount)\b|\bdeadly\s+(?:dose|amount)\b",
    # medical emergencies
    r"\bemergenc\w*",
    r"\b9\s*1\s*1\b|\b988\b",
    r"\bnot\s+breathing\b|\bcan'?t\s+breathe?\b|\bcannot\s+breathe?\b|\bstopped\s+breathing\b",
    r"\bchest\s+pains?\b",
    r"\bheart\s+attack\b|\bstroke\b",
    r"\bseizur\w*|\bconvuls\w*",
    r"\bunconscious\b|\bunresponsive\b|\bpassed\s+out\b|\bwon'?t\s+wake\s+up\b",
    r"\bcall(?:ing)?\s+(?:an\s+)?ambulance\b|\bambulance\b",
]

_CRISIS_RE = re.compile("|".join(f"(?:{pattern})" for pattern in _PATTERNS), re.IGNORECASE)


def normalise(text: str) -> str:
    """Folds typographic quotes and compatibility characters so patterns see plain text."""
    folded = unicodedata.normalize("NFKC", text)
    return folded.replace("\u2019", "'").replace("\u2018", "'")


def crisis_match(text: str) -> str | None:
    """Returns the phrase that marks `text` as a crisis message, or None."""
    found = _CRISIS_RE.search(normalise(text))
    return found.group(0) if found else None


def is_crisis(text: str) -> bool:
    return crisis_match(text) is not None
