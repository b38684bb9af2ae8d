"""Takes a visitor's personal details out of a message before staff see it or it becomes a
training example: phone numbers, email addresses, booking and handoff references, and names.

The replacements (PHONE, EMAIL, REFERENCE, NAME) are plain words, so a masked message is still a
valid Rasa training example (no brackets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from bot.desk.contact import clean_name
from bot.desk.references import REFERENCE_ALPHABET

PHONE, EMAIL, REFERENCE, NAME = "PHONE", "EMAIL", "REFERENCE", "NAME"
_MASKS = {PHONE, EMAIL, REFERENCE, NAME}

# An address is a run of these characters, "@", then a domain with at least one dot. Found from
# each "@" outwards rather than by one regex: `[\w.+\-']+@…` would retry the run from each of
# its characters, so a long run without an "@" cost quadratic time (a second for 16,000
# characters); this reads each character a bounded number of times.
_LOCAL_CHAR = re.compile(r"[\w.+\-']")
_DOMAIN = re.compile(r"[\w\-]+(?:\.[\w\-]+)+")
# Booking (B-XXXXXXXX) and handoff (KAP-XXXXXX) references, in any case; written without the
# hyphen only when a digit shows it is not an ordinary word.
_REF = f"[{REFERENCE_ALPHABET}]"
_REFERENCE = re.compile(
    rf"\b(?:B-{_REF}{{8}}|KAP-{_REF}{{6}}|B(?={_REF}*\d){_REF}{{8}}|KAP(?={_REF}*\d){_REF}{{6}})\b",
    re.IGNORECASE,
)
# Digit runs that look like a phone number even where phonenumbers' matcher is strict about
# the format: seven or more digits with the usual separators.
_DIGIT_RUN = re.compile(r"\+?\d[\d\s().\-]{5,}\d")

# "my name is ana ruiz", "name: Ana": the words after it are a name whatever their case (at
# most two, stopping at a word that names do not end with: "my name is jo and i…").
# "I'm Ana Ruiz", "this is Ana", "call me Ana": only capitalised words, and not the ones people
# put there ("I'm Not sure", "I'm Pregnant" at a sentence start).
_WORD = r"[^\W\d_][\w'’\-]*"
_NAMED = re.compile(rf"(?i:\b(?:my name is|my name's|my names|name's|name is|name:))\s+({_WORD})")
_INTRODUCED = re.compile(
    r"(?i:\b(?:i'm|i’m|i am|im|this is|it's|it’s|call me))\s+([A-Z][a-z'’\-]+)"
)
_NEXT_WORD = re.compile(rf"\s+({_WORD})")
_AFTER_NAMES = {
    *"and but or so i im i'm my from here there is am was then please thanks thank".split(),
    *"the a an to for with in on at of if can could would will do does what how who".split(),
    *"why when where age aged years year calling writing asking it its it's we you not".split(),
    *"hi hello hey ok okay".split(),
}
_NOT_NAMES = {
    *"Not So Very Just Really Also Still Here Back Sorry Ok Okay Fine Good Glad Happy".split(),
    *"Scared Worried Afraid Nervous Anxious Pregnant Breastfeeding Interested Curious".split(),
    *"Looking Wondering Asking Considering Thinking Trying Going Currently Taking On In".split(),
    *"At A An The Your My Over Under About Unsure Sure New Ready Calling Writing".split(),
}


def _mask_phones(text: str, region: str) -> str:
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    for start, end in reversed(spans):
        text = text[:start] + PHONE + text[end:]

    def digits(match: re.Match) -> str:
        found = match.group(0)
        return PHONE if len(re.sub(r"\D", "", found)) >= 7 else found

    return _DIGIT_RUN.sub(digits, text)


def _mask_emails(text: str) -> str:
    """Each address replaced, as the first match of a leftmost-first search would find them."""
    out, done = [], 0  # text[:done] is settled
    at = text.find("@")
    while at != -1:
        start = at
        # Back over the local part, but not into the text already settled: a local part
        # holds no "@", so each character is read once for all the "@"s.
        while start > done and _LOCAL_CHAR.match(text, start - 1):
            start -= 1
        domain = _DOMAIN.match(text, at + 1)
        if start < at and domain:
            out += [text[done:start], EMAIL]
            done = domain.end()
        at = text.find("@", max(at + 1, done))
    return "".join(out) + text[done:]


def _mask_words(text: str, words: Iterable[str], replacement: str) -> str:
    # Longest first, so "Ana Ruiz" goes before "Ana" leaves "NAME Ruiz".
    for word in sorted({w for w in words if w and len(w) >= 2}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", replacement, text, flags=re.IGNORECASE)
    return text


def name_words(names: Iterable[str]) -> set[str]:
    """Each name and each of its parts ("Ana Ruiz" -> Ana Ruiz, Ana, Ruiz)."""
    words: set[str] = set()
    for raw in names:
        name = clean_name(raw or "")
        if name:
            words.add(name)
            words.update(part.strip(".") for part in name.split() if len(part.strip(".")) >= 2)
    return words


def mask(
    text: str,
    *,
    names: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    region: str = "US",
) -> str:
    """`text` with personal details replaced. `names`, `phones` and `emails` are what the visitor
    gave in the same conversation (form slots); patterns catch the rest."""
    text = _mask_words(text, emails, EMAIL)
    text = _mask_emails(text)
    text = _REFERENCE.sub(REFERENCE, text)
    text = _mask_words(text, phones, PHONE)
    text = _mask_phones(text, region)
    text = _mask_words(text, name_words(names), NAME)
    text = _mask_introduced_names(text, _NAMED, capitalised_only=False)
    text = _mask_introduced_names(text, _INTRODUCED, capitalised_only=True)
    return re.sub(rf"\b{NAME}(?:\s+{NAME})+\b", NAME, text)


def _is_name_word(word: str, capitalised_only: bool) -> bool:
    if word.upper() in _MASKS or word in _NOT_NAMES:
        return False
    return word[0].isupper() or (not capitalised_only and word.lower() not in _AFTER_NAMES)


def _mask_introduced_names(text: str, pattern: re.Pattern, capitalised_only: bool) -> str:
    """Replaces the name after each introduction `pattern` finds (one word, or two)."""
    out, position = [], 0
    for match in pattern.finditer(text):
        if match.start() < position or not _is_name_word(match.group(1), capitalised_only):
            continue
        end = match.end()
        second = _NEXT_WORD.match(text, end)
        if second and _is_name_word(second.group(1), capitalised_only):
            end = second.end()
        out += [text[position : match.start(1)], NAME]
        position = end
    return "".join(out) + text[position:]
