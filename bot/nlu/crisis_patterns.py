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
    r"\bwant(?:s|ed)?\s+to\s+die\b",
    r"\b(?:no|the|what'?s\s+the)\s+point\s+(?:in\s+|of\s+)?(?:living|being\s+alive|going\s+on|continuing|carrying\s+on)\b",
    r"\b(?:don'?t|do\s+not|can'?t|cannot)\s+see\s+(?:anything|any\s+future|a\s+future|any\s+hope|a\s+way\s+out|any\s+way\s+out)\b",
    r"\b(?:what\s+i'?m|why\s+i'?m|what\s+am\s+i)\s+(?:still\s+)?(?:doing\s+here|even\s+here|still\s+here)\b",
    r"\b(?:be|being)\s+gone\s+(?:now|forever|for\s+good|tonight)\b|\bno\s*one\s+(?:will|would)\s+(?:ever\s+)?(?:notice|care)\b",
    r"\b(?:gun|weapon|rope|knife|blade)\b[^.?!]{0,40}\b(?:myself|end\s+it|be\s+gone|use\s+it\s+on)\b",
    r"\b(?:pills?|it|them)\s+to\s+take\s+me\s+away\b",
    r"\bstanding\s+on\s+(?:a|the)\s+(?:bridge|ledge|edge|roof)\b|\bgoodbye\s+(?:letters?|notes?)\b",
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
    # overdose and poisoning, in any wording: too many, several at once, a double dose
    r"\bover[\s-]?dos\w*",
    r"\bo\.?d\.?(?:'?d|ed|ing|s)?(?=\W|$)",  # "OD", "OD'd", "O.D.", "ODing"
    r"\b(?:took|taken|swallowed)\s+(?:too\s+many|a\s+(?:lot|bunch|handful|bottle)\s+of|all\s+(?:of\s+)?(?:my|his|her|their|the))\b[^.?!]{0,30}?\b(?:pills?|tablets?|meds|medications?|sleeping\s+pills)\b",
    r"\btoo\s+many\s+(?:pills|tablets|meds)\b",
    r"\b(?:take|takes|took|taken|taking|swallow\w*|had|have\s+had|used|use|did|do|doing|dosed)\s+(?:way\s+|far\s+|a\s+lot\s+|much\s+|a\s+few\s+|some\s+)?too\s+(?:many|much)\b",
    r"\b(?:took|taken|take|taking|swallowed|had|used|did|popped)\s+(?:\d+|two|three|four|five|six|several|multiple|a\s+few|both)\b[^.?!]{0,30}?\b(?:at\s+once|at\s+the\s+same\s+time|together|in\s+a\s+row|in\s+one\s+go|back\s+to\s+back)\b",
    r"\bdoubl(?:e|ed|ing)\s+(?:up\s+)?(?:on\s+)?(?:a\s+|my\s+|the\s+|his\s+|her\s+)?dos(?:e|es|ing|age)\b",
    r"\b(?:took|taken|take|taking|had|used)\s+(?:a\s+)?(?:double|triple|second|another|an\s+extra|extra)\s+(?:\w+\s+)?(?:dose|doses|lozenges?|troches?|tablets?|pills?|one|shot|bump|line)\b",
    r"\bmore\s+than\s+(?:i|he|she|they|we|you)\s*(?:was|were|am|'m|are|is|'re|'s)?\s*(?:told|prescribed|supposed|meant|allowed)\b",
    r"\b(?:took|taken|swallowed|finished)\s+(?:a\s+|the\s+|my\s+|his\s+|her\s+)?(?:whole|entire)\b",
    r"\bswallowed\s+(?:a\s+bottle|the\s+whole|all)\b",
    r"\b(?:took|taken|had|used|swallowed)\s+(?:it|them|(?:my|the|a|his|her)\s+(?:\w+\s+)?\w+)\s+twice\b",
    r"\btwice\s+(?:the|my|his|her|a)\s+(?:\w+\s+)?(?:dose|amount)\b",
    r"\b(?:accidentally|mistakenly|by\s+mistake)\s+(?:took|taken|swallowed|had|used|doubled|gave)\b",
    r"\b(?:took|taken|swallowed|had)\s+(?:\d+|two|three|four)\b[^.?!]{0,30}?\binstead\s+of\b",
    r"\bpoison(?:ed|ing)\b",
    r"\blethal\b|\bfatal\s+(?:dose|amount)\b|\bdeadly\s+(?:dose|amount)\b",
    # a bad reaction happening now, to the visitor or someone with them
    # ("can you have a bad trip on ketamine?" asks about a risk: psychological_risks answers it)
    r"\b(?:having|is\s+in|in\s+the\s+middle\s+of|going\s+through)\s+(?:a\s+|an\s+)?(?:really\s+|very\s+)?(?:bad|terrible|awful|horrible|scary|severe|serious)\s+(?:trip|reaction|time\s+on)\b",
    r"\b(?:tripping|trip\s+is\s+going)\s+(?:really\s+|very\s+|so\s+)?(?:badly|bad|wrong)\b",
    r"\b(?:allergic|severe|serious)\s+reaction\b|\banaphyla\w*",
    r"\b(?:freaking\s+out|panicking|panic\s+attack|hallucinating|losing\s+it|can'?t\s+calm\s+(?:down|him|her)|out\s+of\s+control)\b[^.?!]{0,60}(?:\bright\s+now\b|\bnow\b|\brn\b|\bwhat\s+(?:do|should|can)\s+(?:i|we)\s+do\b|\b(?:please\s+help|help\s+(?:me|us|him|her))\b)",
    r"(?:\bright\s+now\b|^\s*help\b|\b(?:please\s+help|help\s+(?:me|us|him|her))\b)[^?!]{0,40}\b(?:freaking\s+out|panicking|hallucinating|losing\s+it|out\s+of\s+control)\b",
    r"\bsomething(?:'s|\s+is)\s+(?:really\s+|very\s+|seriously\s+)?wrong\s+with\s+(?:me|him|her|them|my)\b",
    r"\b(?:lips|face|skin)\s+(?:are\s+|is\s+|turning\s+|going\s+)?(?:blue|grey|gray)\b|\bturning\s+blue\b",
    r"\b(?:throwing\s+up|vomiting|coughing\s+up)\s+blood\b|\bchoking\s+on\s+(?:vomit|sick)\b",
    r"\b(?:can'?t|cannot|won'?t|not)\s+(?:stop\s+(?:shaking|vomiting|throwing\s+up|bleeding)|wake\s+(?:him|her|them|up))\b",
    r"\b(?:my|his|her)\s+heart\s+(?:is|'s|keeps)\s+(?:racing|pounding|beating\s+(?:really\s+|so\s+|very\s+)?fast|skipping)\b",
    # medical emergencies that name no symptom
    r"\bemergenc\w*",
    # an emergency number on its own, not three digits of a phone number ("555 911 2345",
    # typed into the booking form)
    r"(?<![\d(+])(?<!\d[\s.\-])(?<!\d\)\s)(?:\b9\s*1\s*1\b|\b988\b|\b999\b|\b112\b)"
    r"(?![\s.\-]?\(?\d)",
    r"\b(?:snoring|gurgling|rattling)\s+(?:noise|sound)s?\b|\beyes\s+(?:are\s+)?(?:rolled|rolling)\s+back\b",
    r"\bcall(?:ing)?\s+(?:an\s+)?ambulance\b|\bambulance\b",
]

# Symptoms of a medical emergency. They are a crisis when someone has them ("my chest hurts",
# "he's having a seizure", "can't breathe"); a message that is plainly a general question with
# nobody in it ("can ketamine cause seizures?", "is chest pain a side effect?") is left to the
# classifier. Anything in between counts as an emergency.
_SYMPTOMS = [
    r"\bnot\s+breathing\b|\bcan'?t\s+breathe?\b|\bcannot\s+breathe?\b|\bstopped\s+breathing\b",
    r"\b(?:trouble|difficulty|difficulties|struggling|hard|problems?|hardly|barely)\s+(?:to\s+)?breath\w*",
    r"\bbreathing\s+(?:is\s+|has\s+|got\s+)?(?:very\s+|really\s+|so\s+)?(?:slow|shallow|weird|strange|funny|noisy|difficult|hard|laboured|labored)\b",
    r"\bshort(?:ness)?\s+of\s+breath\b|\bgasping\b|\bchoking\b",
    r"\bchest\s+(?:pains?|hurts?|hurting|tightness|pressure)\b",
    r"\bchest\s+(?:is|feels|felt|'s|went|gets|got)\s+(?:really\s+|very\s+|so\s+)?(?:tight|heavy|painful|hurting|crushing|sore)\b",
    r"\b(?:pain|pains|tightness|pressure)\s+in\s+(?:my|his|her|the)\s+chest\b|\bclutching\s+(?:his|her|my)\s+chest\b",
    r"\bheart\s+attack\b|\bstroke\b|\bcardiac\s+arrest\b",
    r"\bseizur\w*|\bconvuls\w*|\bseizing\b|\bhaving\s+(?:a\s+)?fits?\b",
    r"\bunconscious\b|\bunresponsive\b|\bpassed\s+out\b|\bwon'?t\s+wake\s+up\b|\bblack(?:ed|ing)\s+out\b",
    r"\bfaint(?:ed|ing|s)?\b|\bcollaps(?:ed|ing|es)\b|\bnot\s+respond\w*|\bwon'?t\s+respond\b|\bisn'?t\s+respond\w*",
]
# Someone is in it, or it is happening: then a symptom is an emergency, however it is asked.
_SOMEONE_OR_NOW = re.compile(
    r"\b(?:i|i'm|im|i've|ive|me|my|myself|we|us|our|he|he's|hes|she|she's|shes|him|her|his|they"
    r"|they're|them|their|someone|somebody|friend|partner|husband|wife|boyfriend|girlfriend|son"
    r"|daughter|mum|mom|dad|now|currently|just|having|happening|help|hurts?)\b",
    re.IGNORECASE,
)
# A general question about a risk: "can ketamine cause seizures?", "is chest pain a side effect?"
_GENERAL_QUESTION = re.compile(
    r"\b(?:can|could|does|do|did|will|would|might|may|is|are)\b[^.?!]{0,40}?\b(?:cause[sd]?|trigger"
    r"|lead\s+to|give\s+(?:you|people)|bring\s+on|induce|result\s+in|raise\s+the\s+risk)\b"
    r"|\bside[\s-]?effects?\b|\b(?:risk|risks|chance|likelihood|odds)\s+of\b"
    r"|\bhow\s+(?:common|likely|often)\b|\bpeople\s+(?:with|who)\b|\bpatients\b",
    re.IGNORECASE,
)


def _compiled(patterns: list[str]) -> re.Pattern:
    # Every pattern starts a word: the leading guard makes the search skip the other positions
    # at once instead of trying each alternative there (a 2,000-character message: ~1 ms, not 20).
    alternatives = "|".join(f"(?:{pattern})" for pattern in patterns)
    return re.compile(rf"\b(?=\w)(?:{alternatives})", re.IGNORECASE)


_CRISIS_RE = _compiled(_PATTERNS)
_SYMPTOM_RE = _compiled(_SYMPTOMS)


def normalise(text: str) -> str:
    """Folds typographic quotes and compatibility characters so patterns see plain text."""
    folded = unicodedata.normalize("NFKC", text)
    return folded.replace("\u2019", "'").replace("\u2018", "'")


def crisis_match(text: str) -> str | None:
    """Returns the phrase that marks `text` as a crisis message, or None."""
    text = normalise(text).strip()
    found = _CRISIS_RE.search(text)
    if found:
        return found.group(0)
    symptom = _SYMPTOM_RE.search(text)
    if symptom is None:
        return None
    if _GENERAL_QUESTION.search(text) and not _SOMEONE_OR_NOW.search(text):
        return None
    return symptom.group(0)


def is_crisis(text: str) -> bool:
    return crisis_match(text) is not None
