"""Reads and checks the editorial content in `content/` (pure: no Rasa, no TensorFlow)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader

from bot.content.message_keys import (
    ACTION_MESSAGES,
    BUTTON_LABELS,
    CHANNEL_MESSAGES,
    MESSAGE_RESPONSES,
)
from bot.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

CONTENT_DIR = PROJECT_ROOT / "content"
ARTICLE_PATH = CONTENT_DIR / "source" / "how-safe-is-kap.txt"

# An answer may not exceed MAX_WORDS (the limit); TARGET_MAX_WORDS is the house style:
# longer answers are accepted with a warning. Shorter than MIN_WORDS is too thin to be an answer.
MIN_WORDS, TARGET_MAX_WORDS, MAX_WORDS = 40, 110, 120
REVIEW_WARNING_DAYS = 180
TOPIC_FIELDS = ("id", "label", "answer", "source_section", "reviewed")
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class ContentError(ValueError):
    """The content files are not usable; `problems` lists each one in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    answer: str
    source_section: str
    reviewed: dt.date

    @property
    def word_count(self) -> int:
        return len(self.answer.split())


@dataclass(frozen=True)
class Content:
    source_title: str
    source_short_title: str
    topics: tuple[Topic, ...]
    messages: dict[str, str]

    def topic(self, topic_id: str) -> Topic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    @property
    def topic_ids(self) -> list[str]:
        return [topic.id for topic in self.topics]

    def citation(self, topic: Topic) -> str:
        return f"Source: {self.source_short_title} — {topic.source_section}"


def article_sections(article: str) -> set[str]:
    """Headings of the article: short lines without a full stop, plus 'Introduction'."""
    lines = [line.strip() for line in article.splitlines()]
    return {"Introduction"} | {
        line for line in lines if line and len(line.split()) <= 12 and not line.endswith(".")
    }


def load_yaml(text: str):
    """yaml.safe_load, with libyaml when present: the training data is large enough for the
    pure-Python parser to cost the editor most of a second per save."""
    return yaml.load(text, Loader=_SafeLoader)


def _read_yaml(path: Path, problems: list[str]) -> dict:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing")
        return {}
    except yaml.YAMLError as error:
        problems.append(f"{path.name}: not valid YAML ({error})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name}: expected a mapping at the top level")
        return {}
    return data


def as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def topic_problems(raw: dict, sections: set[str]) -> dict[str, list[str]]:
    """What is wrong with one topic's fields, field by field, in words an editor understands."""
    found: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        found.setdefault(field, []).append(message)

    if not TOPIC_ID.match(str(raw.get("id") or "").strip()):
        add(
            "id",
            "The id must be lower case letters, digits and underscores, starting with a letter.",
        )
    fields = {key: str(raw.get(key) or "").strip() for key in ("label", "answer", "source_section")}
    for key, value in fields.items():
        if not value:
            add(key, f"The {key.replace('_', ' ')} is empty.")
    words = len(fields["answer"].split())
    if fields["answer"] and words > MAX_WORDS:
        add("answer", f"The answer has {words} words; the limit is {MAX_WORDS}.")
    elif fields["answer"] and words < MIN_WORDS:
        add("answer", f"The answer has {words} words; it needs at least {MIN_WORDS}.")
    if fields["source_section"] and sections and fields["source_section"] not in sections:
        add(
            "source_section",
            f"“{fields['source_section']}” is not a heading of the article.",
        )
    if as_date(raw.get("reviewed")) is None:
        add("reviewed", "The review date must be a date like 2026-11-26.")
    return found


def _parse_topic(raw: object, index: int, sections: set[str], problems: list[str]) -> Topic | None:
    where = f"topics.yml, topic #{index + 1}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with id, label, answer, ...")
        return None
    topic_id = str(raw.get("id", "")).strip()
    if topic_id:
        where = f"topics.yml, topic '{topic_id}'"
    for messages in topic_problems(raw, sections).values():
        problems += [f"{where}: {message}" for message in messages]
    fields = {key: str(raw.get(key) or "").strip() for key in ("label", "answer", "source_section")}
    reviewed = as_date(raw.get("reviewed")) or dt.date.min
    return Topic(topic_id, fields["label"], fields["answer"], fields["source_section"], reviewed)


def article_sections_in(content_dir: Path) -> set[str]:
    article = content_dir / "source" / ARTICLE_PATH.name
    return article_sections(article.read_text(encoding="utf-8")) if article.exists() else set()


def load_content(content_dir: Path = CONTENT_DIR) -> Content:
    """Loads content/topics.yml and content/messages.yml, raising ContentError on any problem."""
    problems: list[str] = []
    topics_doc = _read_yaml(content_dir / "topics.yml", problems)
    messages_doc = _read_yaml(content_dir / "messages.yml", problems)
    sections = article_sections_in(content_dir)

    source = topics_doc.get("source") or {}
    topics: list[Topic] = []
    for index, raw in enumerate(topics_doc.get("topics") or []):
        topic = _parse_topic(raw, index, sections, problems)
        if topic:
            topics.append(topic)
    if topics_doc and not topics:
        problems.append("topics.yml: no topics")
    seen: set[str] = set()
    for topic in topics:
        if topic.id in seen:
            problems.append(f"topics.yml: topic id '{topic.id}' appears twice")
        seen.add(topic.id)

    messages = {key: str(value).strip() for key, value in messages_doc.items() if value}
    for key in (*MESSAGE_RESPONSES, *BUTTON_LABELS, *CHANNEL_MESSAGES, *ACTION_MESSAGES):
        if messages_doc and key not in messages:
            problems.append(f"messages.yml: '{key}' is missing")
    known = {*MESSAGE_RESPONSES, *BUTTON_LABELS, *CHANNEL_MESSAGES, *ACTION_MESSAGES}
    for key in set(messages) - known:
        problems.append(f"messages.yml: unknown key '{key}'")
    for key in ("title", "short_title"):
        if topics_doc and not source.get(key):
            problems.append(f"topics.yml: source.{key} is missing")

    if problems:
        raise ContentError(problems)
    return Content(
        source_title=str(source["title"]),
        source_short_title=str(source["short_title"]),
        topics=tuple(topics),
        messages=messages,
    )


# --- The content as the files are now, for the processes that keep running ---------------------

_FileState = tuple[str, int, int, int, int] | tuple[str, None]


@dataclass(frozen=True)
class _Loaded:
    files: tuple[_FileState, ...]
    content: Content


_loaded: dict[Path, _Loaded] = {}
_loading = threading.Lock()


def _files_state(content_dir: Path) -> tuple[_FileState, ...]:
    """What tells whether the content files changed: the name, modification and change times,
    size and inode of every content/*.yml and of the article (whose headings load_content
    checks), or None for one that is missing. The editor replaces a file atomically (a new
    inode), so even a change within one tick of the clock shows."""
    try:
        names = sorted(
            entry.name for entry in os.scandir(content_dir) if entry.name.endswith(".yml")
        )
    except FileNotFoundError:
        names = []
    state: list[_FileState] = []
    for name in (*names, f"source/{ARTICLE_PATH.name}"):
        try:
            info = os.stat(content_dir / name)
        except FileNotFoundError:
            state.append((name, None))
            continue
        state.append((name, info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino))
    return tuple(state)


def current(directory: Path | None = None) -> Content:
    """The content as its files are now, for the processes that keep running (the action
    server, the Rasa servers' channels and NLU, the web app): publishing a model swaps it in
    without restarting them, and the topics and messages it was trained on must come with it.

    Loaded once and the same object returned while the files stay the same (so what a caller
    derives from it can be cached on its identity); loaded again on the first call after any
    of them changes, appears or goes. Safe to call from any thread. `directory` defaults to the
    content of the project the editor changes and training reads (KAPBOT_CONTENT_ROOT).

    Files that stop being valid content (a hand edit half done) do not take the processes down:
    the last good content stays in use, and the problems are logged, until they are fixed. With
    no good content yet, ContentError is raised as load_content does."""
    content_dir = (
        Path(directory) if directory is not None else get_settings().content_root / "content"
    )
    with _loading:
        files = _files_state(content_dir)
        loaded = _loaded.get(content_dir)
        if loaded is not None and loaded.files == files:
            return loaded.content
        try:
            content = load_content(content_dir)
        except ContentError as error:
            if loaded is None:
                raise
            log.error(
                "The content in %s changed but cannot be used; the previous content stays in "
                "use until this is fixed:\n%s",
                content_dir,
                error,
            )
            content = loaded.content
        _loaded[content_dir] = _Loaded(files, content)
        return content


def review_is_due(reviewed: dt.date, today: dt.date | None = None) -> bool:
    return ((today or dt.date.today()) - reviewed).days > REVIEW_WARNING_DAYS


def stale_reviews(content: Content, today: dt.date | None = None) -> list[Topic]:
    """Topics whose last review is older than REVIEW_WARNING_DAYS."""
    return [t for t in content.topics if review_is_due(t.reviewed, today)]


@dataclass(frozen=True)
class ProjectFiles:
    """Where one copy of the project keeps what the content checks and the editor read and
    write: the real project by default, a temporary copy while a change is being validated."""

    root: Path = PROJECT_ROOT

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def topics(self) -> Path:
        return self.content_dir / "topics.yml"

    @property
    def data_dir(self) -> Path:
        return self.root / "bot" / "data"

    @property
    def nlu(self) -> Path:
        return self.data_dir / "nlu.yml"

    @property
    def responses(self) -> Path:
        return self.data_dir / "responses.yml"

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def article(self) -> Path:
        return self.content_dir / "source" / ARTICLE_PATH.name
