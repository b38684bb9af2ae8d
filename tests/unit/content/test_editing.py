"""The content editor's engine on a scratch copy of the project: reading topics, saving them,
adding examples, refusing bad changes in plain words, and two editors saving at once."""

from __future__ import annotations

import datetime as dt
import difflib
import threading

import pytest

from bot.content.checks import check_project
from bot.content.editing import ContentEditError, ContentProject
from bot.content.model import ProjectFiles

# A topic the article supports ("Understanding the Safety Profile"), in the project's own words.
PARKING_LIKE_ANSWER = (
    "Every session happens in the clinic itself, never at home. A trained member of staff stays "
    "with you throughout, your vital signs are watched, and you rest afterwards until the team "
    "is happy that you are ready to leave. Plan for someone else to drive you home, because you "
    "should not drive for the rest of that day. The clinic's staff can tell you how to prepare "
    "for the visit."
)
NEW_EXAMPLES = [
    f"{opening} {ending}"
    for opening in ("can i do the sessions", "is kap ever done", "could i have ketamine therapy",
                    "do people do kap", "would my treatment happen")
    for ending in ("at my house", "at home instead", "in my own living room", "remotely from home",
                   "without coming to the clinic")
]  # fmt: skip


@pytest.fixture
def project(project_copy):
    """The engine on the copy; `rasa data validate` only where a test is about it (~10 s)."""
    return ContentProject(project_copy, rasa_validation=False)


def snapshot(files: ProjectFiles) -> dict[str, str]:
    return {p.name: p.read_text() for p in (files.topics, files.nlu, files.responses)}


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def save_as_is(project: ContentProject, topic_id: str, **changes):
    topic = project.get_topic(topic_id)
    fields = {
        "label": topic.label,
        "answer": topic.answer,
        "source_section": topic.source_section,
        "reviewed": topic.reviewed,
        "examples": topic.examples,
        **changes,
    }
    return project.save_topic(topic_id, **fields)


def test_topics_are_listed_with_their_examples_and_review_state(project):
    topics = project.list_topics(today=dt.date(2026, 12, 1))
    assert len(topics) == 15
    cost = next(t for t in topics if t.id == "cost")
    assert cost.label and cost.source_section and cost.reviewed == dt.date(2026, 11, 26)
    assert cost.example_count == len(cost.examples) >= 25
    assert cost.word_count == len(cost.answer.split())
    assert not cost.review_due
    assert project.list_topics(today=dt.date(2027, 6, 1))[0].review_due
    with pytest.raises(KeyError):
        project.get_topic("parking")


def test_source_sections_are_the_article_headings_with_introduction_first(project):
    sections = project.source_sections()
    assert sections[0] == "Introduction"
    assert {"Understanding the Safety Profile", "Considering the Risks"} <= set(sections)


def test_editing_one_answer_changes_only_that_answers_lines(project):
    before = snapshot(project.files)
    topic = project.get_topic("bladder")
    result = save_as_is(project, "bladder", answer=topic.answer.replace("often", "frequently"))
    after = snapshot(project.files)

    assert sorted(result.changed) == ["bot/data/responses.yml", "content/topics.yml"]
    assert after["nlu.yml"] == before["nlu.yml"]
    topic_diff = changed_lines(before["topics.yml"], after["topics.yml"])
    assert topic_diff and all(line[1:].startswith("      ") for line in topic_diff)
    assert [line for line in topic_diff if "frequently" in line]
    [removed, added] = changed_lines(before["responses.yml"], after["responses.yml"])
    assert "often" in removed and "frequently" in added
    assert project.get_topic("bladder").answer == topic.answer.replace("often", "frequently")
    assert check_project(project.files) == ([], [])


def test_saving_a_topic_unchanged_writes_nothing(project):
    before = snapshot(project.files)
    assert save_as_is(project, "cost").changed == []
    assert snapshot(project.files) == before


def test_a_refused_change_says_what_is_wrong_per_field_and_writes_nothing(project):
    before = snapshot(project.files)
    cost = project.get_topic("cost")
    with pytest.raises(ContentEditError) as refused:
        project.save_topic(
            "cost",
            label=" ",
            answer="word " * 131,
            source_section="Parking",
            reviewed="last week",
            examples=cost.examples[:20] + ["what is KAP?", "how much  is it [really]", "   "],
        )
    problems = refused.value.field_problems
    assert problems["label"] == ["The label is empty."]
    assert problems["answer"] == ["The answer has 131 words; the limit is 120."]
    assert problems["source_section"] == ["“Parking” is not a heading of the article."]
    assert problems["reviewed"] == ["The review date must be a date like 2026-11-26."]
    assert "“what is KAP?” is already an example of the topic what_is_kap." in problems["examples"]
    assert any("[ ]" in p and "leave them out" in p for p in problems["examples"])
    assert "An example cannot be empty." in problems["examples"]
    assert "The topic has 23 examples; it needs at least 25." in problems["examples"]
    assert snapshot(project.files) == before


def test_examples_are_trimmed_and_duplicates_within_a_topic_refused(project):
    examples = project.get_topic("cost").examples
    with pytest.raises(ContentEditError) as refused:
        save_as_is(project, "cost", examples=[*examples, f"  {examples[0].upper()}  "])
    assert refused.value.field_problems["examples"] == [f"“{examples[0].upper()}” is listed twice."]
    save_as_is(project, "cost", examples=[*examples, "  what   would  the whole course cost me  "])
    assert project.get_topic("cost").examples[-1] == "what would the whole course cost me"


def test_a_long_answer_or_an_old_review_date_is_saved_with_a_warning(project):
    answer = project.get_topic("cost").answer
    longer = answer + " " + " ".join(["More about fees follows here."] * 5)
    result = save_as_is(project, "cost", answer=longer, reviewed=dt.date(2025, 1, 2))
    assert any("answers read best at 110 or fewer (the limit is 120)" in w for w in result.warnings)
    assert any("2025-01-02 is more than 180 days ago" in w for w in result.warnings)
    assert project.get_topic("cost").reviewed == dt.date(2025, 1, 2)


def test_a_save_from_a_stale_form_is_refused(project):
    opened = project.get_topic("onset")
    save_as_is(project, "onset", label="How soon does KAP help?")
    with pytest.raises(ContentEditError) as refused:
        project.save_topic(
            "onset",
            label=opened.label,
            answer=opened.answer,
            source_section=opened.source_section,
            reviewed=opened.reviewed,
            examples=opened.examples,
            base_version=opened.version,
        )
    assert "Someone else changed this topic" in refused.value.problems[0]
    assert project.get_topic("onset").label == "How soon does KAP help?"


def test_add_example_appends_one_line_and_keeps_the_comments_among_examples(project):
    before = project.files.nlu.read_text()
    result = project.add_example("out_of_scope", "  where can i   park my car  ")
    after = project.files.nlu.read_text()
    assert result.changed == ["bot/data/nlu.yml"]
    assert changed_lines(before, after) == ["+    - where can i park my car"]
    with pytest.raises(ContentEditError) as refused:
        project.add_example("eligibility", "Where can I park my car?")
    assert refused.value.field_problems["examples"] == [
        "“Where can I park my car?” is already an example of the intent out_of_scope."
    ]
    with pytest.raises(ContentEditError) as refused:
        project.add_example("faq/cost", "call me on (555) 010-4477")
    assert "( )" in refused.value.field_problems["examples"][0]
    with pytest.raises(ContentEditError) as refused:
        project.add_example("parking", "where do i park")
    assert refused.value.problems == ["There is no intent called parking in the training data."]


def test_labels_map_to_intents(project):
    assert project.intent_for_label("cost") == "faq/cost"
    assert project.intent_for_label("eligibility_handoff") == "eligibility"
    assert project.intent_for_label("out_of_scope") == "out_of_scope"
    with pytest.raises(KeyError):
        project.intent_for_label("parking")
    labels = dict(project.labels())
    assert labels["cost"].startswith("Topic: ") and "crisis" in labels and len(labels) == 27


def test_two_editors_saving_at_once_keep_both_changes(project_copy):
    editors = [ContentProject(project_copy, rasa_validation=False) for _ in range(2)]
    topics = ["dosage", "benefits"]
    errors = []

    def edit(editor: ContentProject, topic_id: str) -> None:
        try:
            save_as_is(editor, topic_id, label=f"Edited {topic_id}")
            editor.add_example(f"faq/{topic_id}", f"one more question about {topic_id}")
        except Exception as error:  # reported below, with the thread's topic
            errors.append((topic_id, error))

    pairs = zip(editors, topics, strict=True)
    threads = [threading.Thread(target=edit, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for topic_id in topics:
        topic = editors[0].get_topic(topic_id)
        assert topic.label == f"Edited {topic_id}"
        assert topic.examples[-1] == f"one more question about {topic_id}"
    assert check_project(ProjectFiles(project_copy)) == ([], [])
