"""The clinic's article as revisions. content/source/revisions.yml lists them, oldest first: a
number, the day it was recorded, the sha256 of its text, its file under content/source/revisions/
and the sections whose text it changed. content/source/how-safe-is-kap.txt is always the latest
revision's text: the one the build, the checks and the answers' sources read.

A revision that changes a section's text flags every topic citing that section ("article changed
since review") until an editor checks the answer against the new text and sets its `reviewed`
date after the day the revision was recorded. A review on that same day does not clear the flag:
whether it came before or after the revision cannot be told from a date, and a missed change is
the worse mistake."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.model import ARTICLE_PATH, Content, article_sections, as_date, load_content
from bot.files.atomic import write_atomically

REVISIONS_FILE = "revisions.yml"
REVISIONS_DIR = "revisions"
INTRODUCTION = "Introduction"


class ArticleError(ValueError):
    """A revision that cannot be recorded, or a revisions file that cannot be read; the message
    says why."""


@dataclass(frozen=True)
class Revision:
    number: int
    recorded: dt.date
    sha256: str
    file: str  # under content/source/
    changed_sections: tuple[str, ...] = ()


def section_texts(article: str) -> dict[str, str]:
    """Each section's text by heading, whitespace normalised; the text before the first heading
    (title included) is the introduction."""
    headings = article_sections(article) - {INTRODUCTION}
    sections: dict[str, list[str]] = {INTRODUCTION: []}
    current = INTRODUCTION
    for line in article.splitlines():
        stripped = " ".join(line.split())
        if stripped in headings:
            current = stripped
            sections.setdefault(current, [])
        elif stripped:
            sections[current].append(stripped)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def changed_sections(before: str, after: str) -> tuple[str, ...]:
    """The sections whose text differs between two revisions, added and removed ones included."""
    old, new = section_texts(before), section_texts(after)
    return tuple(sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name)))


def _source_dir(content_dir: Path) -> Path:
    return content_dir / "source"


def load_revisions(content_dir: Path) -> list[Revision]:
    """The recorded revisions, oldest first; [] before the first is recorded."""
    path = _source_dir(content_dir) / REVISIONS_FILE
    if not path.exists():
        return []
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        return [_revision(row) for row in rows]
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise ArticleError(f"{path}: cannot be read ({error})") from None


def _revision(row: dict) -> Revision:
    recorded = as_date(row["recorded"])
    if recorded is None:
        raise ValueError(f"revision {row['revision']}: 'recorded' is not a date")
    changed = tuple(row.get("changed_sections") or ())
    return Revision(int(row["revision"]), recorded, str(row["sha256"]), str(row["file"]), changed)


def _write_revisions(content_dir: Path, revisions: list[Revision]) -> None:
    header = (
        "# The article's revisions, oldest first. Written by `kapbot article add FILE`; do not\n"
        "# edit by hand. source/how-safe-is-kap.txt is the latest revision's text.\n"
    )
    rows = [
        {
            "revision": r.number,
            "recorded": r.recorded.isoformat(),
            "sha256": r.sha256,
            "file": r.file,
            "changed_sections": list(r.changed_sections),
        }
        for r in revisions
    ]
    text = header + yaml.safe_dump(rows, sort_keys=False, allow_unicode=True)
    write_atomically(_source_dir(content_dir) / REVISIONS_FILE, text)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store(content_dir: Path, number: int, text: str, recorded: dt.date, changed) -> Revision:
    file = f"{REVISIONS_DIR}/r{number}.txt"
    (_source_dir(content_dir) / REVISIONS_DIR).mkdir(exist_ok=True)
    write_atomically(_source_dir(content_dir) / file, text)
    return Revision(number, recorded, _sha256(text), file, tuple(changed))


def _check_new_text(content: Content, text: str) -> None:
    sections = article_sections(text)
    missing = sorted(
        f"{topic.id} (cites “{topic.source_section}”)"
        for topic in content.topics
        if topic.source_section not in sections
    )
    if missing:
        raise ArticleError(
            "the new text lacks sections that topics cite; point these topics at another "
            "section first: " + ", ".join(missing)
        )


def first_revision_recorded(content_dir: Path, today: dt.date) -> list[Revision]:
    """The recorded revisions, the article as it is now recorded as revision 1 if none is."""
    revisions = load_revisions(content_dir)
    if revisions:
        return revisions
    article_path = _source_dir(content_dir) / ARTICLE_PATH.name
    first = _store(content_dir, 1, article_path.read_text(encoding="utf-8"), today, ())
    _write_revisions(content_dir, [first])
    return [first]


def add_revision(content_dir: Path, text: str, today: dt.date | None = None) -> Revision:
    """Records `text` as the article's next revision and makes it the current article. The
    article as it is now becomes revision 1 if none is recorded yet. Raises ArticleError for a
    text identical to the latest revision or lacking a section a topic cites."""
    today = today or dt.date.today()
    article_path = _source_dir(content_dir) / ARTICLE_PATH.name
    revisions = first_revision_recorded(content_dir, today)
    latest = revisions[-1]
    if _sha256(text) == latest.sha256:
        raise ArticleError(f"this text is already revision {latest.number}")
    _check_new_text(load_content(content_dir), text)
    # Against the latest recorded text: a hand edit of the article file is recorded this way too.
    latest_text = (_source_dir(content_dir) / latest.file).read_text(encoding="utf-8")
    changed = changed_sections(latest_text, text)
    revision = _store(content_dir, latest.number + 1, text, today, changed)
    write_atomically(article_path, text)
    _write_revisions(content_dir, [*revisions, revision])
    return revision


def topics_to_review(content: Content, revisions: list[Revision]) -> dict[str, Revision]:
    """Topic id -> the latest revision that changed its section on or after its `reviewed`
    day (see the module's docstring): the topics to check against the article again."""
    flagged: dict[str, Revision] = {}
    for topic in content.topics:
        for revision in reversed(revisions):
            if topic.source_section in revision.changed_sections:
                if topic.reviewed is None or topic.reviewed <= revision.recorded:
                    flagged[topic.id] = revision
                break
    return flagged


def section_diff(
    content_dir: Path, revision: Revision, section: str, revisions: list[Revision] | None = None
) -> str:
    """What `revision` changed in `section`, as a unified diff against the revision before
    (`revisions`: the recorded ones, when the caller has them already)."""
    if revisions is None:
        revisions = load_revisions(content_dir)
    before = next((r for r in revisions if r.number == revision.number - 1), None)

    def text_of(r: Revision | None) -> list[str]:
        if r is None:
            return []
        article = (_source_dir(content_dir) / r.file).read_text(encoding="utf-8")
        return section_texts(article).get(section, "").splitlines()

    return "\n".join(
        difflib.unified_diff(
            text_of(before),
            text_of(revision),
            f"revision {revision.number - 1}",
            f"revision {revision.number}",
            lineterm="",
        )
    )


@dataclass(frozen=True)
class ReviewFlag:
    """A topic whose cited section changed since its review, and what changed."""

    revision: Revision
    section: str
    diff: str


def article_state(content_dir: Path) -> tuple[Revision | None, dict[str, ReviewFlag]]:
    """The latest recorded revision (None before the first) and, by topic id, the answers to
    check against the article again, for the editors' topics page."""
    revisions = load_revisions(content_dir)
    content = load_content(content_dir)
    sections = {topic.id: topic.source_section for topic in content.topics}
    flags = {
        topic_id: ReviewFlag(
            revision,
            sections[topic_id],
            section_diff(content_dir, revision, sections[topic_id], revisions),
        )
        for topic_id, revision in topics_to_review(content, revisions).items()
    }
    return (revisions[-1] if revisions else None), flags


def review_warnings(content: Content, content_dir: Path) -> list[str]:
    """The content checks' warnings: answers to check against a changed article, and an article
    file that differs from its latest recorded revision (edited by hand)."""
    try:
        revisions = load_revisions(content_dir)
    except ArticleError as error:
        return [str(error)]
    sections = {topic.id: topic.source_section for topic in content.topics}
    warnings = [
        f"topic '{topic_id}': its section “{sections[topic_id]}” changed in revision "
        f"{revision.number} of the article since it was reviewed; check the answer and update "
        "`reviewed`"
        for topic_id, revision in topics_to_review(content, revisions).items()
    ]
    article = (_source_dir(content_dir) / ARTICLE_PATH.name).read_text(encoding="utf-8")
    if revisions and _sha256(article) != revisions[-1].sha256:
        warnings.append(
            f"{ARTICLE_PATH.name} differs from revision {revisions[-1].number}: record it with "
            f"`kapbot article add content/source/{ARTICLE_PATH.name}`"
        )
    return warnings
