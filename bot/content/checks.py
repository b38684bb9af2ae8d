"""Content checks run by `kapbot validate` and the test suite (pure: no Rasa import)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

from bot.content.build import RESPONSES_PATH, is_stale
from bot.content.model import ARTICLE_PATH, Content, ContentError, load_content, stale_reviews
from bot.settings import PROJECT_ROOT

NLU_PATH = PROJECT_ROOT / "bot" / "data" / "nlu.yml"
MIN_EXAMPLES_PER_TOPIC = 25
COPIED_RUN_WORDS = 8  # this many consecutive words shared with the article counts as pasted


def read_nlu_examples(path: Path = NLU_PATH) -> dict[str, list[str]]:
    """Intent name -> its examples, from a Rasa YAML NLU file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = defaultdict(list)
    for block in document.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples[block["intent"]].append(line[2:].strip())
    return dict(examples)


def normalise_example(text: str) -> str:
    return re.sub(r"[^\w\s']", "", text.lower()).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def copied_runs(answer: str, article: str, run: int = COPIED_RUN_WORDS) -> list[str]:
    """Runs of `run` consecutive words that the answer shares with the article."""
    article_words = _words(article)
    article_runs = {tuple(article_words[i : i + run]) for i in range(len(article_words) - run + 1)}
    words = _words(answer)
    return [
        " ".join(words[i : i + run])
        for i in range(len(words) - run + 1)
        if tuple(words[i : i + run]) in article_runs
    ]


def check_training_examples(content: Content, examples: dict[str, list[str]]) -> list[str]:
    problems = []
    faq_intents = {name.split("/", 1)[1] for name in examples if name.startswith("faq/")}
    for topic_id in content.topic_ids:
        count = len(examples.get(f"faq/{topic_id}", []))
        if count < MIN_EXAMPLES_PER_TOPIC:
            problems.append(
                f"topic '{topic_id}' has {count} training examples in bot/data/nlu.yml; "
                f"it needs at least {MIN_EXAMPLES_PER_TOPIC}"
            )
    for orphan in sorted(faq_intents - set(content.topic_ids)):
        problems.append(f"bot/data/nlu.yml has examples for faq/{orphan}, which is not a topic")
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, texts in examples.items():
        for text in texts:
            owners[normalise_example(text)].add(intent)
    for text, intents in sorted(owners.items()):
        if len(intents) > 1:
            problems.append(f"example '{text}' appears under {', '.join(sorted(intents))}")
    return problems


def check_project() -> tuple[list[str], list[str]]:
    """Returns (problems, warnings) for content/ and bot/data/."""
    try:
        content = load_content()
    except ContentError as error:
        return list(error.problems), []
    problems: list[str] = []
    warnings = [
        f"topic '{t.id}' was last reviewed on {t.reviewed}; review it again"
        for t in stale_reviews(content)
    ]
    if is_stale():
        problems.append(
            f"{RESPONSES_PATH.relative_to(PROJECT_ROOT)} is out of date with content/: "
            "run kapbot build"
        )
    problems += check_training_examples(content, read_nlu_examples())
    article = ARTICLE_PATH.read_text(encoding="utf-8")
    for topic in content.topics:
        for run in copied_runs(topic.answer, article)[:1]:
            problems.append(f"topic '{topic.id}' copies the article word for word: '{run}…'")
    return problems, warnings
