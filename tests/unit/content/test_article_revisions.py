"""The article as revisions: recording one that changes a section flags exactly the topics that
cite it, until their answers are reviewed again; a text that is not new, or that drops a cited
section, changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import yaml

from bot.content.article import (
    ArticleError,
    add_revision,
    load_revisions,
    section_diff,
    section_texts,
    topics_to_review,
)
from bot.content.model import load_content
from bot.settings import PROJECT_ROOT

RISKS = "Considering the Risks"
DAY = dt.date(2026, 12, 7)


@pytest.fixture
def content_dir(project_copy):
    return project_copy / "content"


def article_of(content_dir) -> str:
    return (content_dir / "source" / "how-safe-is-kap.txt").read_text(encoding="utf-8")


def with_risks_changed(article: str) -> str:
    """The article with one sentence added to the risks section only."""
    heading = f"\n{RISKS}\n"
    assert heading in article
    return article.replace(heading, heading + "\nA sentence the clinic added in this revision.\n")


def citing(content_dir, section: str) -> set[str]:
    return {t.id for t in load_content(content_dir).topics if t.source_section == section}


def test_a_revision_that_changes_the_risks_flags_exactly_the_topics_citing_them(content_dir):
    old = article_of(content_dir)
    new = with_risks_changed(old)

    revision = add_revision(content_dir, new, today=DAY)

    assert revision.number == 2 and revision.changed_sections == (RISKS,)
    assert revision.sha256 == hashlib.sha256(new.encode()).hexdigest()
    assert article_of(content_dir) == new
    revisions = load_revisions(content_dir)
    assert [r.number for r in revisions] == [1, 2]
    assert (content_dir / "source" / revisions[0].file).read_text(encoding="utf-8") == old
    flagged = topics_to_review(load_content(content_dir), revisions)
    assert set(flagged) == citing(content_dir, RISKS) and len(flagged) >= 2
    assert "+A sentence the clinic added in this revision." in section_diff(
        content_dir, revision, RISKS
    )


def test_a_review_after_the_revision_clears_the_flag_and_one_that_day_does_not(content_dir):
    revision = add_revision(content_dir, with_risks_changed(article_of(content_dir)), today=DAY)
    content = load_content(content_dir)
    later, same_day, *_ = sorted(citing(content_dir, RISKS))
    reviewed = {later: DAY + dt.timedelta(days=1), same_day: DAY}
    topics = [replace(t, reviewed=reviewed.get(t.id, t.reviewed)) for t in content.topics]

    flagged = topics_to_review(replace(content, topics=topics), load_revisions(content_dir))

    assert later not in flagged and flagged[same_day] == revision


def test_the_same_text_again_or_a_text_without_a_cited_section_changes_nothing(content_dir):
    before = article_of(content_dir)
    with pytest.raises(ArticleError, match="already revision 1"):
        add_revision(content_dir, before, today=DAY)
    without_risks = before.replace(f"\n{RISKS}\n", "\n")
    with pytest.raises(ArticleError) as refused:
        add_revision(content_dir, without_risks, today=DAY)
    assert all(topic in str(refused.value) for topic in citing(content_dir, RISKS))
    assert article_of(content_dir) == before
    assert len(load_revisions(content_dir)) <= 1


def test_sections_are_read_by_heading_with_the_opening_as_the_introduction():
    sections = section_texts(
        "Title of it all, long enough to be no heading at all here.\nHi.\n\n"
        "Risks\n\nOne.\n  Two  words.\n"
    )
    assert sections == {
        "Introduction": "Title of it all, long enough to be no heading at all here.\nHi.",
        "Risks": "One.\nTwo words.",
    }


def test_kapbot_article_add_and_status(project_copy, tmp_path):
    new = tmp_path / "article.txt"
    new.write_text(with_risks_changed(article_of(project_copy / "content")), encoding="utf-8")
    env = {**os.environ, "KAPBOT_CONTENT_ROOT": str(project_copy)}

    def kapbot(*args):
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "article", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    added = kapbot("add", str(new))
    assert added.returncode == 0, added.stderr
    assert f"Sections whose text changed: “{RISKS}”." in added.stdout
    for topic in citing(project_copy / "content", RISKS):
        assert f"  {topic}: “{RISKS}” changed in revision 2" in added.stdout
    again = kapbot("add", str(new))
    assert again.returncode == 2 and "already revision 2" in again.stderr
    status = kapbot("status", "--diff")
    assert status.returncode == 0 and "+A sentence the clinic added" in status.stdout
    index = yaml.safe_load((project_copy / "content" / "source" / "revisions.yml").read_text())
    assert [row["revision"] for row in index] == [1, 2]


def test_the_content_checks_warn_of_answers_to_review_and_of_a_hand_edited_article(project_copy):
    from bot.content.checks import check_project
    from bot.content.model import ProjectFiles

    content_dir = project_copy / "content"
    add_revision(content_dir, with_risks_changed(article_of(content_dir)), today=DAY)
    article = content_dir / "source" / "how-safe-is-kap.txt"
    article.write_text(article_of(content_dir) + "\nAdded by hand.\n", encoding="utf-8")

    problems, warnings = check_project(ProjectFiles(project_copy))

    assert problems == []
    flagged = {w.split("'")[1] for w in warnings if "since it was reviewed" in w}
    assert flagged == citing(content_dir, RISKS)
    assert any("differs from revision 2" in w for w in warnings)
