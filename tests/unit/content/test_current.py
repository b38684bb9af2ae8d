"""current(): the content as its files are now, for the processes that keep running."""

from __future__ import annotations

import shutil
import threading

import pytest

from bot.content.model import CONTENT_DIR, ContentError, current


@pytest.fixture
def content_dir(tmp_path):
    return shutil.copytree(CONTENT_DIR, tmp_path / "content")


def relabel(content_dir, topic_id: str, label: str) -> None:
    """Rewrites topics.yml in place, as a hand edit would (same file, same inode)."""
    topics = content_dir / "topics.yml"
    text = topics.read_text(encoding="utf-8")
    old = f'  - id: {topic_id}\n    label: "'
    start = text.index(old) + len(old)
    end = text.index('"', start)
    topics.write_text(text[:start] + label + text[end:], encoding="utf-8")


def test_the_same_content_while_the_files_are_unchanged(content_dir):
    first = current(content_dir)
    assert current(content_dir) is first
    assert first.topic("cost").label == current(CONTENT_DIR).topic("cost").label


def test_a_changed_file_is_read_again_without_a_restart(content_dir):
    before = current(content_dir)
    relabel(content_dir, "cost", "What does it cost me?")
    after = current(content_dir)
    assert after is not before
    assert after.topic("cost").label == "What does it cost me?"
    assert before.topic("cost").label != "What does it cost me?"
    assert current(content_dir) is after
    # messages.yml too, replaced the way the editor writes files (a new file renamed over it).
    messages = content_dir / "messages.yml"
    replacement = content_dir / "messages.yml.new"
    text = messages.read_text(encoding="utf-8")
    replacement.write_text(text.replace("\nnone_of_these: ", '\nnone_of_these: "Nope" #'), "utf-8")
    replacement.replace(messages)
    assert current(content_dir).messages["none_of_these"] == "Nope"


def test_the_default_directory_is_the_content_root_the_editor_changes(tmp_path, environment):
    shutil.copytree(CONTENT_DIR, tmp_path / "project" / "content")
    environment(KAPBOT_CONTENT_ROOT=str(tmp_path / "project"))
    relabel(tmp_path / "project" / "content", "cost", "Price of a course")
    assert current().topic("cost").label == "Price of a course"


def test_broken_files_keep_the_last_good_content_until_they_are_fixed(content_dir, caplog):
    good = current(content_dir)
    topics = content_dir / "topics.yml"
    text = topics.read_text(encoding="utf-8")
    topics.write_text(text[: len(text) // 2] + "\n  - id: [unclosed\n", encoding="utf-8")
    assert current(content_dir) is good
    assert "cannot be used" in caplog.text
    topics.write_text(text.replace("What is KAP?", "What is KAP, exactly?"), encoding="utf-8")
    assert current(content_dir).topic("what_is_kap").label == "What is KAP, exactly?"


def test_broken_files_with_no_good_content_yet_are_an_error(content_dir):
    (content_dir / "messages.yml").unlink()
    with pytest.raises(ContentError, match="messages.yml: file is missing"):
        current(content_dir)


def test_threads_asking_at_once_share_one_load(content_dir):
    start = threading.Barrier(8)
    seen = []

    def ask() -> None:
        start.wait()
        seen.append(current(content_dir))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(content is seen[0] for content in seen)
