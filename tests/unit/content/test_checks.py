"""Each content rule, broken on purpose in a scratch copy of the project, is reported in plain
words; `kapbot validate` exits 1 on a problem and 0 with only warnings."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.content.build import build
from bot.content.checks import check_project
from bot.content.model import ProjectFiles


@pytest.fixture
def files(project_copy) -> ProjectFiles:
    return ProjectFiles(project_copy)


def edit_yaml(path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def edit_topic(files: ProjectFiles, topic_id: str, **fields) -> None:
    def change(document):
        [topic] = [t for t in document["topics"] if t["id"] == topic_id]
        for key, value in fields.items():
            if value is None:
                del topic[key]
            else:
                topic[key] = value

    edit_yaml(files.topics, change)
    build(files.content_dir, files.responses)


def problems_of(files: ProjectFiles) -> list[str]:
    return check_project(files)[0]


def test_the_copy_of_the_project_is_clean(files):
    assert check_project(files) == ([], [])


def test_an_answer_over_120_words_is_a_problem_and_over_110_a_warning(files):
    answer = " ".join(f"word{i}" for i in range(121))
    edit_yaml(files.topics, lambda d: d["topics"][0].update(answer=answer))
    assert problems_of(files) == [
        "topics.yml, topic 'what_is_kap': The answer has 121 words; the limit is 120."
    ]
    edit_topic(files, "what_is_kap", answer=" ".join(f"word{i}" for i in range(115)))
    problems, warnings = check_project(files)
    assert problems == []
    assert warnings == [
        "topic 'what_is_kap' has 115 words; answers read best at 110 or fewer (the limit is 120)"
    ]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("answer", "The answer is empty."),
        ("source_section", "The source section is empty."),
        ("reviewed", "The review date must be a date like 2026-11-26."),
        ("label", "The label is empty."),
    ],
)
def test_a_topic_without_a_field_is_a_problem(files, field, message):
    edit_yaml(files.topics, lambda d: d["topics"][1].pop(field))
    assert problems_of(files) == [f"topics.yml, topic 'treatment_process': {message}"]


def test_an_old_review_date_is_a_warning(files):
    edit_topic(files, "cost", reviewed="2025-01-05")
    problems, warnings = check_project(files)
    assert problems == []
    assert warnings == ["topic 'cost' was last reviewed on 2025-01-05; review it again"]


def test_a_topic_with_fewer_than_25_examples_is_a_problem(files):
    def keep_ten(document):
        block = next(b for b in document["nlu"] if b.get("intent") == "faq/cost")
        block["examples"] = "".join(block["examples"].splitlines(True)[:10])

    edit_yaml(files.nlu, keep_ten)
    assert problems_of(files) == [
        "topic 'cost' has 10 training examples in bot/data/nlu.yml; it needs at least 25"
    ]


def test_an_example_under_two_intents_is_a_problem(files):
    def duplicate(document):
        greet = next(b for b in document["nlu"] if b.get("intent") == "greet")
        greet["examples"] += "- Is KAP safe??\n"

    edit_yaml(files.nlu, duplicate)
    assert problems_of(files) == ["example 'is kap safe' appears under faq/safety, greet"]


def test_square_brackets_in_an_example_are_a_problem(files):
    def annotate(document):
        greet = next(b for b in document["nlu"] if b.get("intent") == "greet")
        greet["examples"] += "- hi i'm [Ana](name)\n"

    edit_yaml(files.nlu, annotate)
    [problem] = problems_of(files)
    assert problem.startswith("greet: “hi i'm [Ana](name)” contains [ ]")


def test_a_topic_without_its_answer_in_responses_is_a_problem(files):
    edit_yaml(files.responses, lambda d: d["responses"].pop("utter_faq/cost"))
    problems = problems_of(files)
    assert "topic 'cost' has no answer (utter_faq/cost): run kapbot build" in problems


def test_examples_for_a_topic_that_does_not_exist_are_a_problem(files):
    edit_yaml(
        files.nlu,
        lambda d: d["nlu"].append({"intent": "faq/parking", "examples": "- where do i park\n"}),
    )
    assert "bot/data/nlu.yml has examples for faq/parking, which is not a topic" in problems_of(
        files
    )


def test_an_answer_for_a_topic_that_does_not_exist_is_a_problem(files):
    edit_yaml(files.domain, lambda d: d.setdefault("responses", {}).update(
        {"utter_faq/parking": [{"text": "Park behind the clinic."}]}
    ))  # fmt: skip
    edit_yaml(
        files.data_dir / "rules.yml",
        lambda d: d["rules"].append(
            {"rule": "parking", "steps": [{"intent": "faq/parking"}, {"action": "utter_greet"}]}
        ),
    )
    problems = problems_of(files)
    assert "domain.yml has an answer utter_faq/parking, but there is no such topic" in problems
    assert "bot/data/rules.yml uses faq/parking, but there is no such topic" in problems


def run_validate(environment, root, *args):
    environment(KAPBOT_CONTENT_ROOT=str(root))
    return CliRunner().invoke(main, ["validate", "--content-only", *args])


def test_kapbot_validate_exits_0_on_a_clean_project_and_prints_warnings(environment, files):
    edit_topic(files, "cost", reviewed="2025-01-05")
    result = run_validate(environment, files.root)
    assert result.exit_code == 0, result.output
    assert "warning: topic 'cost' was last reviewed on 2025-01-05" in result.output
    assert "content checks: OK" in result.output


def test_kapbot_validate_exits_1_and_names_each_problem(environment, files):
    edit_yaml(files.responses, lambda d: d["responses"].pop("utter_faq/cost"))
    result = run_validate(environment, files.root)
    assert result.exit_code == 1
    assert "problem: topic 'cost' has no answer (utter_faq/cost): run kapbot build" in result.output
    assert "validation failed: 2 problem(s)" in result.output
