"""Custom Rasa NLU components. They run after the trained classifiers and the FallbackClassifier
(see config.yml), so what they decide is final."""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.content.buttons import FAQ_INTENT, label_meanings, normalized
from bot.content.model import Content, current
from bot.nlu.confidence import is_unsure
from bot.nlu.crisis_patterns import crisis_match
from bot.nlu.eligibility_patterns import eligibility_match
from bot.nlu.language_gate import other_language, warm_up

CRISIS_INTENT = "crisis"
ELIGIBILITY_INTENT = "eligibility"
# A request for a person already leads to the same handoff offer, and a screening call to a
# clinician ("can we set up a call to see if I'm eligible?"); crisis always wins.
_KEPT_OVER_ELIGIBILITY = {CRISIS_INTENT, "human_request", "book_screening"}
RESPONSE_SELECTOR = "response_selector"
OTHER_LANGUAGE_INTENT = "other_language"
# Where the language found goes in the parse data: {"code": "de", "confidence": 0.99}.
LANGUAGE_KEY = "language"
# Words of danger that read the same in many languages ("quiero suicidarme", "Überdosis"): a
# message in another language with one of them keeps the crisis reply.
_CRISIS_IN_ANY_LANGUAGE = re.compile(
    r"suicid|suizid|selbstmord|overdos|[üu]berdosis|sobredosis|surdose|sovradosaggio"
    r"|\b(?:911|988|112)\b",
    re.IGNORECASE,
)


class _NonTrainableComponent(GraphComponent):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    def process_training_data(self, training_data):  # noqa: ANN001 - Rasa's signature
        return training_data


def _put_first(ranking: list[dict[str, Any]], top: dict[str, Any], key: str) -> list[dict]:
    return [top] + [item for item in ranking if item.get(key) != top[key]]


def force_intent(message: Message, name: str) -> None:
    """Makes `name` the message's intent, with full confidence, first in the ranking."""
    top = {"name": name, "confidence": 1.0}
    message.set(INTENT, top, add_to_output=True)
    ranking = message.get(INTENT_RANKING_KEY) or []
    message.set(INTENT_RANKING_KEY, _put_first(ranking, top, "name"), add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisPatternClassifier(_NonTrainableComponent):
    """Forces the `crisis` intent when a high-recall safety pattern matches the message."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if crisis_match(text):
                force_intent(message, CRISIS_INTENT)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EligibilityPatternClassifier(_NonTrainableComponent):
    """Forces the `eligibility` intent when a personal clinical question pattern matches, so a
    confident FAQ guess never answers "is it safe if I take lithium?"."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = (message.get(TEXT) or "").strip()
            if text.startswith("/") or not eligibility_match(text):
                continue
            if (message.get(INTENT) or {}).get("name") not in _KEPT_OVER_ELIGIBILITY:
                force_intent(message, ELIGIBILITY_INTENT)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ButtonLabelHandler(_NonTrainableComponent):
    """Gives the bot's button labels their fixed meaning (bot/content/buttons.py): "Yes, please"
    is `affirm`, a "did you mean" topic is that FAQ answer, whatever the classifier thought.

    A button sends its label as plain text, and a visitor typing the same words means the same.
    A topic is accepted only if the trained ResponseSelector knows it; the intent and the
    ResponseSelector's choice are both set, as no intent alone can name one FAQ answer.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._meanings: tuple[Content, dict[str, str]] | None = None

    def meaning(self, text: str) -> str | None:
        # current(), not the content as it was when this model loaded: the action server offers
        # "did you mean" buttons with current() (actions/fallback.py), and a label it shows must
        # mean its topic here too, whenever the files change. A topic this model was not
        # trained on is still refused (_force_faq_answer). The meanings are kept while
        # current() returns the same content object.
        content = current()
        if self._meanings is None or self._meanings[0] is not content:
            self._meanings = (content, label_meanings(content))
        return self._meanings[1].get(normalized(text))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            meaning = self.meaning(message.get(TEXT) or "")
            if meaning is None:
                continue
            if meaning.startswith(f"{FAQ_INTENT}/"):
                _force_faq_answer(message, meaning)
            else:
                force_intent(message, meaning)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class TopicButtonHandler(ButtonLabelHandler):
    """ButtonLabelHandler's former name: models trained before it (config.yml naming this) still
    load, so a rollback to one works. Their buttons send /intent payloads, which the public
    channels now read as plain words: retrain rather than roll back past this change."""


def _force_faq_answer(message: Message, key: str) -> None:
    selector = message.get(RESPONSE_SELECTOR) or {}
    faq = selector.get(FAQ_INTENT)
    known = {item.get("intent_response_key") for item in (faq or {}).get("ranking", [])}
    if key not in known:
        return
    force_intent(message, FAQ_INTENT)
    faq["response"] = {
        "responses": None,
        "confidence": 1.0,
        "intent_response_key": key,
        "utter_action": f"utter_{key}",
    }
    faq["ranking"] = _put_first(
        faq["ranking"], {"confidence": 1.0, "intent_response_key": key}, "intent_response_key"
    )
    message.set(RESPONSE_SELECTOR, selector, add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqConfidenceGate(_NonTrainableComponent):
    """Sends a FAQ message to the fallback when the ResponseSelector is unsure which topic it is.

    The FallbackClassifier only looks at the intent ("this is a FAQ"); a confident intent with an
    unsure topic would still give a confident wrong answer, so this applies the same rule to the
    topic choice: below `threshold`, or two topics closer than `ambiguity_threshold`, the visitor
    gets "did you mean" buttons instead.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.5, "ambiguity_threshold": 0.05}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._threshold = float(config["threshold"])
        self._ambiguity = float(config["ambiguity_threshold"])

    def _is_unsure(self, faq: dict[str, Any]) -> bool:
        confidences = [item.get("confidence", 0.0) for item in faq.get("ranking") or []]
        return is_unsure(confidences, self._threshold, self._ambiguity)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            faq = (message.get(RESPONSE_SELECTOR) or {}).get(FAQ_INTENT)
            if intent.get("name") != FAQ_INTENT or not faq or not self._is_unsure(faq):
                continue
            fallback = {"name": "nlu_fallback", "confidence": float(intent.get("confidence", 0.0))}
            message.set(INTENT, fallback, add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageGate(_NonTrainableComponent):
    """Sets the `other_language` intent for a message that is surely not English
    (bot/nlu/language_gate.py), so it gets "English only; call the clinic" instead of a guess.

    It decides last. Crisis messages in English are never touched (the gate reads them as
    English); a crisis guess on another language is overruled, unless the message holds a word
    of danger that reads the same in many languages: then the crisis reply stands.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        warm_up()  # at model load, not on the first visitor's message

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = (message.get(TEXT) or "").strip()
            if text.startswith("/"):
                continue
            language = other_language(text)
            if language is None:
                continue
            found = {"code": language.code, "confidence": round(language.confidence, 4)}
            message.set(LANGUAGE_KEY, found, add_to_output=True)
            intent = (message.get(INTENT) or {}).get("name")
            if intent == CRISIS_INTENT and _CRISIS_IN_ANY_LANGUAGE.search(text):
                continue
            force_intent(message, OTHER_LANGUAGE_INTENT)
        return messages
