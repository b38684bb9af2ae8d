"""Content checks run by `kapbot validate` and the test suite (pure: no Rasa import)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from bot.content.article import review_warnings
from bot.content.build import is_stale
from bot.content.buttons import label_clashes
from bot.content.model import (
    MAX_WORDS,
    TARGET_MAX_WORDS,
    Content,
    ContentError,
    ProjectFiles,
    load_content,
    load_yaml,
    stale_reviews,
)

NLU_PATH = ProjectFiles().nlu
MIN_EXAMPLES_PER_TOPIC = 25
# Rasa reads square and curly brackets as entity annotations ([text](entity), [text]{...}).
# The editor also refuses parentheses, the annotation's other half; examples already in the
# data may hold them where Rasa reads them as text ("(555) 010-4477").
ENTITY_SYNTAX = re.compile(r"[\[\]{}]")
EDITOR_REFUSED = re.compile(r"[\[\](){}]")
COPIED_RUN_WORDS = 8  # this many consecutive words shared with the article counts as pasted


def read_nlu_examples(path: Path = NLU_PATH) -> dict[str, list[str]]:
    """Intent name -> its examples, from a Rasa YAML NLU file."""
    document = load_yaml(path.read_text(encoding="utf-8")) or {}
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
    """What makes two examples the same to Rasa's featurizers: case, punctuation and spacing
    do not count."""
    return " ".join(re.sub(r"[^\w\s']", "", text.lower()).split())


def example_problem(text: str, refused: re.Pattern = ENTITY_SYNTAX) -> str | None:
    """Why `text` cannot be a training example as it is, or None."""
    if not text.strip():
        return "An example cannot be empty."
    brackets = sorted(set(refused.findall(text)))
    if brackets:
        return (
            f"“{text.strip()}” contains {' '.join(brackets)}: the training data reads brackets "
            "as markup, so leave them out."
        )
    return None


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
    for intent, texts in sorted(examples.items()):
        for text in texts:
            reason = example_problem(text)
            if reason:
                problems.append(f"{intent}: {reason}")
    return problems


def _faq_key(name: object, prefix: str) -> str | None:
    name = str(name or "")
    return name[len(prefix) :] if name.startswith(prefix) else None


def _declared_faq_responses(files: ProjectFiles) -> dict[str, set[str]]:
    """Topic ids that have an `utter_faq/<id>` response, by the file declaring it."""
    declared: dict[str, set[str]] = {}
    for path in (files.responses, files.domain):
        if not path.exists():
            continue
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
        for name in document.get("responses") or {}:
            topic_id = _faq_key(name, "utter_faq/")
            if topic_id:
                declared.setdefault(str(path.relative_to(files.root)), set()).add(topic_id)
    return declared


def _faq_names_in_dialogues(files: ProjectFiles) -> set[tuple[str, str]]:
    """(file, name) for every `faq/<x>` intent or `utter_faq/<x>` action a rule or story uses."""
    found: set[tuple[str, str]] = set()
    for path in sorted(files.data_dir.glob("*.yml")):
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
        for block in (document.get("rules") or []) + (document.get("stories") or []):
            for step in block.get("steps") or []:
                for key in ("intent", "action"):
                    name = str(step.get(key) or "")
                    if name.startswith(("faq/", "utter_faq/")):
                        found.add((str(path.relative_to(files.root)), name))
    return found


def check_responses(content: Content, files: ProjectFiles) -> list[str]:
    """Every topic has its answer (`utter_faq/<id>`) and nothing else does."""
    problems = []
    topics = set(content.topic_ids)
    declared = _declared_faq_responses(files)
    every = set().union(*declared.values()) if declared else set()
    for topic_id in sorted(topics - every):
        problems.append(
            f"topic '{topic_id}' has no answer (utter_faq/{topic_id}): run kapbot build"
        )
    for where, ids in sorted(declared.items()):
        for orphan in sorted(ids - topics):
            problems.append(f"{where} has an answer utter_faq/{orphan}, but there is no such topic")
    for where, name in sorted(_faq_names_in_dialogues(files)):
        topic_id = name.split("/", 1)[1]
        if topic_id not in topics:
            problems.append(f"{where} uses {name}, but there is no such topic")
    return problems


def check_answer_lengths(content: Content) -> list[str]:
    """Warnings for answers longer than the house style (the hard limit is a problem already)."""
    return [
        f"topic '{t.id}' has {t.word_count} words; answers read best at {TARGET_MAX_WORDS} or "
        f"fewer (the limit is {MAX_WORDS})"
        for t in content.topics
        if t.word_count > TARGET_MAX_WORDS
    ]


def check_project(files: ProjectFiles | None = None) -> tuple[list[str], list[str]]:
    """Returns (problems, warnings) for one copy of the project (the real one by default).
    Answers whose article section changed since their review are warnings (bot/content/article.py).

    The rules: every topic has an answer (40 to 120 words), a source section that is a heading
    of the article, a review date (a warning when older than 180 days) and at least 25 training
    examples; no example appears under two intents or uses Rasa's entity brackets; every topic
    has its response and retrieval intent, and nothing else does.
    """
    files = files or ProjectFiles()
    try:
        content = load_content(files.content_dir)
    except ContentError as error:
        return list(error.problems), []
    problems: list[str] = []
    warnings = [
        f"topic '{t.id}' was last reviewed on {t.reviewed}; review it again"
        for t in stale_reviews(content)
    ] + check_answer_lengths(content)
    warnings += review_warnings(content, files.content_dir)
    if is_stale(files.responses, files.content_dir):
        problems.append(
            f"{files.responses.relative_to(files.root)} is out of date with content/: "
            "run kapbot build"
        )
    problems += check_responses(content, files)
    problems += check_training_examples(content, read_nlu_examples(files.nlu))
    problems += label_clashes(content)
    article = files.article.read_text(encoding="utf-8")
    for topic in content.topics:
        for run in copied_runs(topic.answer, article)[:1]:
            problems.append(f"topic '{topic.id}' copies the article word for word: '{run}…'")
    return problems, warnings
