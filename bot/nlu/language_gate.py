"""Tells a message in another language from an English one, so the bot never guesses at it.

The classifiers only know English: a German question about the bladder once got the crisis
reply because a word looked like one of its examples. A message in another language gets a
short reply instead (in English and, for the languages in content/messages.yml, in that
language): the assistant answers in English only; call the clinic, or the emergency number.

Language identification is py3langid (its shipped model, offline, ~0.1 ms a message), limited
to the languages visitors are likely to write. It is wrong on short or misspelt English ("wat
hapens durng a sesion" looks French to it), so a message counts as another language only when

- it has enough words to judge (two or more, or any non-Latin script such as Chinese),
- it is not a name ("José Luis Rodríguez": every word capitalised), a reference, a phone number
  or an email address (these are removed first),
- fewer than half of its Latin-script words are English words (the English lemma tables of
  spacy-lookups-data, English function words, and the words visitors use for KAP),
- the identifier is sure of it, and
- in Latin script, it has a common word of that language that is not also English ("ist",
  "est", "para"), or four different words or more and no doubt at all: "blah blah blah" and
  "qwe qwe zzz" are gibberish, not Indonesian or Italian.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Languages a visitor of a US clinic's website is likely to write in; fewer candidates make the
# identifier much less likely to read English as something exotic.
CANDIDATE_LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "zh", "ja", "ko", "ar", "tr",
    "vi", "sv", "da", "no", "fi", "cs", "ro", "hu", "el", "he", "hi", "id", "tl",
)  # fmt: skip
MIN_CONFIDENCE = 0.9
# Without a common word of the language ("wat hapens durng a sesion" looks French at 0.98).
SURE_WITHOUT_COMMON_WORD = 0.999
MAX_ENGLISH_SHARE = 0.5
# Only the start of a long message is identified: enough to tell, and the cost stays bounded.
MAX_CHECKED_CHARS = 300

# Function words (the lemma tables hold few) and words visitors write that the tables do not.
_EXTRA_ENGLISH = """
    a an the and or but if of to in on at by for with from about as into than then so not no
    i me my mine we us our you your he him his she her it its they them their this that these
    those who whom whose what which when where why how is am are was were be been being do does
    did have has had can could will would shall should may might must there here some any all
    kap ketamine esketamine spravato ket ssri ssris snri snris maoi maois adhd ptsd ocd
    ok okay pls plz thx ty u ur im ive dont doesnt cant wont isnt didnt wanna gonna gotta
    lol hi hey hiya yeah yep nope hmm bye cya tbh idk btw covid
""".split()
# Common words of Latin-script languages; those that are also English words do not count.
_COMMON_WORDS = {
    "es": "el la los las de del que y en un una es por para con no se su al lo como más pero "
    "puedo tengo estoy cuánto cuesta qué cómo está sesión hola gracias seguro",
    "fr": "le la les de des du un une et est pas pour que qui dans sur avec je vous il elle "
    "nous ce cette mon ma mes est-ce c'est combien comment bonjour merci",
    "de": "der die das und ist nicht ich ein eine einer mit für auf wie was kann ich sie es "
    "nach bei oder aber sind habe wird werden mein meine hallo danke",
    "it": "il lo la gli le di del della che e è un una per non con sono mi ho come quanto "
    "costa ciao grazie posso",
    "pt": "o a os as de do da que e é um uma para com não se eu você meu minha como quanto "
    "custa olá obrigado posso está",
    "nl": "de het een en is niet ik je u van voor met op dat wat hoe kan mijn zijn hallo bedankt",
    "pl": "i w na z że się nie jest to jak co czy mam mogę ile dla jestem dzień dobry dziękuję",
    "sv": "och att det är en ett jag du inte på med för som hur vad kan min hej tack",
    "da": "og at det er en et jeg du ikke på med for som hvordan hvad kan min hej tak",
    "no": "og at det er en et jeg du ikke på med for som hvordan hva kan min hei takk",
    "tr": "ve bir bu da de ne mi mı için ile ben sen nasıl kaç merhaba teşekkürler",
    "ro": "și în de la nu este un o cu pentru eu ce cum bună mulțumesc",
    "cs": "a je v na se že to jak co mám můžu pro jsem dobrý den děkuji",
    "id": "dan yang di ke dari ini itu tidak saya anda apa bagaimana berapa terima kasih",
}
_REMOVED = re.compile(
    r"\S+@\S+"  # email addresses
    r"|https?://\S+|www\.\S+"  # links
    r"|\bB-[A-Z0-9]{6,}\b"  # booking references
    r"|[+\d][\d\s().-]{5,}\d"  # phone numbers
    r"|\d+",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, e.g. "de"
    confidence: float


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # loads in ~0.2 s

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATE_LANGUAGES))
    return identifier


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    import spacy_lookups_data  # data only: importing it does not import spaCy

    table = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(table, "rt", encoding="utf-8") as file:
        lemmas = json.load(file)
    words = {w.lower() for w in lemmas} | {w.lower() for w in lemmas.values()}
    return frozenset(words | set(_EXTRA_ENGLISH))


@lru_cache(maxsize=1)
def _common_words() -> dict[str, frozenset[str]]:
    english = _english_words()
    return {
        code: frozenset(word for word in words.split() if word not in english)
        for code, words in _COMMON_WORDS.items()
    }


def _is_latin(word: str) -> bool:
    return all("LATIN" in unicodedata.name(char, "") for char in word if char.isalpha())


def _looks_like_a_name(words: list[str]) -> bool:
    return len(words) <= 4 and all(word[0].isupper() for word in words)


def other_language(text: str) -> Language | None:
    """The language of `text` when it is surely not English, else None."""
    cleaned = _REMOVED.sub(" ", unicodedata.normalize("NFKC", text[:MAX_CHECKED_CHARS]))
    cleaned = cleaned.replace("\u2019", "'")
    words = _WORD.findall(cleaned)
    if not words:
        return None
    latin = [word for word in words if _is_latin(word)]
    non_latin_letters = sum(len(word) for word in words if word not in latin)
    if non_latin_letters < 2:
        if len(latin) < 2 or _looks_like_a_name(latin):
            return None
        english = _english_words()
        known = sum(word.lower() in english for word in latin)
        if known / len(latin) >= MAX_ENGLISH_SHARE:
            return None
    code, confidence = _identifier().classify(cleaned)
    if code == "en" or confidence < MIN_CONFIDENCE:
        return None
    if non_latin_letters < 2:
        lowered = {word.lower() for word in latin}
        has_common_word = bool(lowered & _common_words().get(code, frozenset()))
        if not has_common_word and (len(lowered) < 4 or confidence < SURE_WITHOUT_COMMON_WORD):
            return None
    return Language(code, float(confidence))


def warm_up() -> None:
    """Loads the identifier and the word list (about a quarter of a second), so the first
    visitor does not wait for them."""
    _identifier()
    _common_words()
