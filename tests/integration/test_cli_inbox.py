"""`kapbot inbox` on a tracker store written by Rasa's SQLTrackerStore, editing a scratch copy
of the project (in-process with click's runner: a console-script start costs a second each)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.cli import main
from bot.db.migrate import upgrade
from tests.integration.db.conversations import FALLBACK, Conversation
from tests.project_copies import copy_project


@pytest.fixture
async def inbox(tmp_path, environment):
    """A database with two unsure messages, one confident answer doubted at once, and a project
    copy; yields a `kapbot` runner."""
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    upgrade(url)
    visitor = Conversation(minute=0)
    visitor.says("my name is Jo, what is the bill for kap", **FALLBACK, topics=[("cost", 0.3)])
    visitor.says("what is KAP?", **FALLBACK)
    # Answered confidently, then asked again in other words: perhaps a wrong answer.
    visitor.says("is ketamine addictive", "faq", 0.99, topics=[("safety", 0.9)])
    visitor.bot("utter_faq", "utter_faq/safety")
    visitor.says("can you get addicted to ketamine", "faq", 0.99, topics=[("dependence", 0.95)])
    visitor.bot("utter_faq", "utter_faq/dependence")
    await visitor.save(SQLTrackerStore(domain=Domain.empty(), host=url))
    environment(
        DATABASE_URL=url,
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        KAPBOT_CONTENT_ROOT=str(copy_project(tmp_path / "project")),
    )

    def kapbot(*args: str):
        return CliRunner().invoke(main, ["inbox", *args])

    kapbot.project = tmp_path / "project"
    return kapbot


def keys(kapbot) -> dict[str, str]:
    listed = kapbot("list", "--json")
    assert listed.exit_code == 0, listed.output
    return {item["text"]: item["key"] for item in json.loads(listed.stdout)}


def test_list_shows_masked_messages_and_dismiss_decides_once(inbox):
    table = inbox("list")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == [
        "KEY", "RECEIVED", "(UTC)", "REASON", "GUESS", "MESSAGE"
    ]  # fmt: skip
    assert "my name is NAME, what is the bill for kap" in table.stdout
    assert "Jo" not in table.stdout
    assert "answered safety, then rephrased" in table.stdout
    listed = json.loads(inbox("list", "--json").stdout)
    assert [(i["text"], i["reason"]) for i in listed][0] == (
        "is ketamine addictive", "answered safety, then rephrased"
    )  # fmt: skip
    assert inbox("dismiss", listed[0]["key"]).exit_code == 0
    found = keys(inbox)
    key = found["what is KAP?"]

    assert inbox("dismiss", key).exit_code == 0
    again = inbox("dismiss", key)
    assert again.exit_code == 1
    assert "This message was already dismissed by cli:" in again.output
    assert list(keys(inbox)) == ["my name is NAME, what is the bill for kap"]
    unknown = inbox("assign", "0123456789abcdef0123", "cost")
    assert (unknown.exit_code, unknown.output.strip()) == (
        1, "error: There is no message 0123456789abcdef0123 in the inbox."
    )  # fmt: skip
    assert inbox("assign", key).exit_code == 2


@pytest.mark.slow
def test_assign_adds_the_example_after_rasa_data_validate_and_refusals_exit_1(inbox):
    found = keys(inbox)
    refused = inbox("assign", found["what is KAP?"], "cost")
    assert refused.exit_code == 1
    assert "“what is KAP?” is already an example of the topic what_is_kap." in refused.output
    unknown_label = inbox("assign", found["what is KAP?"], "parking")
    assert unknown_label.exit_code == 1
    assert "“parking” is not a topic or an outcome" in unknown_label.output

    added = inbox("assign", found["my name is NAME, what is the bill for kap"], "cost")
    assert added.exit_code == 0, added.output
    assert "to faq/cost" in added.stdout
    nlu = (inbox.project / "bot" / "data" / "nlu.yml").read_text()
    assert "    - my name is NAME, what is the bill for kap\n" in nlu
    # The assigned message has left the inbox; the undecided ones are still there.
    assert list(keys(inbox)) == ["is ketamine addictive", "what is KAP?"]
