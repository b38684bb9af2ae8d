"""Checks the contact details a visitor types for the care team (pure functions, no Rasa).

Phone numbers and email addresses are checked with `phonenumbers` and `email-validator`: both
encode rules (country formats, RFC address syntax) that a hand-written regex gets wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_NAME_CHARS = 80
# Letters of any script, spaces and the marks names use (O'Neil, Anne-Marie, J. R.).
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-][^\W\d_]*)*$")
_NAME_INTRO = re.compile(
    r"^(?:my name is|my name's|i am|i'm|im|it's|its|this is|call me|name:?)\s+", re.I
)

# Replies to the question before, not names.
_NOT_NAMES = {
    *("yes", "yeah", "yep", "no", "nope", "ok", "okay", "sure", "maybe"),
    *("hi", "hello", "hey", "thanks", "thank you", "bye", "goodbye", "cancel", "quit"),
}


def clean_name(text: str) -> str | None:
    """The name in `text` ("I'm Ana Ruiz" -> "Ana Ruiz"), or None if it does not look like one."""
    name = _NAME_INTRO.sub("", (text or "").strip()).strip(" .!")
    name = re.sub(r"\s+", " ", name)
    if not name or len(name) > MAX_NAME_CHARS or len(name.split()) > 6:
        return None
    if not _NAME.match(name) or name.lower() in _NOT_NAMES:
        return None
    return name


@dataclass(frozen=True)
class ContactDetail:
    phone: str | None = None
    email: str | None = None

    def __str__(self) -> str:
        return self.phone or self.email or ""


def parse_contact_detail(text: str, phone_region: str = "US") -> ContactDetail | None:
    """A phone number (normalised to E.164) or an email address (normalised), or None."""
    text = (text or "").strip().strip(".")
    if not text or len(text) > 254:
        return None
    if "@" in text:
        candidate = text.split()[-1] if " " in text else text
        try:
            email = validate_email(candidate, check_deliverability=False).normalized
        except EmailNotValidError:
            return None
        return ContactDetail(email=email)
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return None
    try:
        number = phonenumbers.parse(text, phone_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return ContactDetail(
        phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )


def display_phone(e164: str | None, phone_region: str = "US") -> str:
    """+15551234567 as people write it: (555) 123-4567 in the clinic's own country, else in
    international format (+44 20 7946 0958)."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == phonenumbers.country_code_for_region(phone_region):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_phone(phone: str, region: str = "US") -> str | None:
    """`phone` in E.164 (+15550100000), or None if it is not a possible phone number."""
    try:
        number = phonenumbers.parse(phone or "", region)
    except phonenumbers.NumberParseException:
        return None
    # Not IS_POSSIBLE_LOCAL_ONLY: "555 1234" has no area code and could not be called back.
    if phonenumbers.is_possible_number_with_reason(number) != (
        phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_in(text: str, phone_region: str = "US") -> str | None:
    """The phone number in an answer such as "my number is 555 321 7788", in E.164."""
    for candidate in (text, *re.findall(r"\+?[\d(][\d\s().\-]{5,}\d", text or "")):
        e164 = normalise_phone(candidate.strip(), phone_region)
        if e164:
            return e164
    return None
