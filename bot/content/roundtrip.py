"""Reads and writes content/topics.yml and bot/data/nlu.yml without disturbing what people wrote.

ruamel.yaml's round-trip mode keeps key order, comments, quoting and block styles, so a change
to one answer changes that answer's lines and nothing else in the diff.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
)

# The layouts the two files are written in: topics.yml indents its list under `topics:`,
# nlu.yml does not (Rasa's own style).
_TOPICS_INDENT = {"mapping": 2, "sequence": 4, "offset": 2}
_NLU_INDENT = {"mapping": 2, "sequence": 2, "offset": 0}
# An answer's lines in topics.yml are wrapped at this many characters (plus the indent).
ANSWER_WIDTH = 88


def _yaml(indent: dict[str, int]) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # long lines are wrapped by us (answers) or kept as written
    yaml.indent(**indent)
    return yaml


class _RoundTripFile:
    indent: dict[str, int]

    def __init__(self, path: Path) -> None:
        self.path = path
        self._yaml = _yaml(self.indent)
        self.document = self._yaml.load(path.read_text(encoding="utf-8"))

    def dump(self) -> str:
        """The document as text, ready to be written back."""
        out = io.StringIO()
        self._yaml.dump(self.document, out)
        return out.getvalue()


class TopicsFile(_RoundTripFile):
    """content/topics.yml, loaded for editing."""

    indent = _TOPICS_INDENT

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        if not isinstance(self.document.get("topics"), CommentedSeq):
            self.document["topics"] = CommentedSeq()

    @property
    def topics(self) -> CommentedSeq:
        return self.document["topics"]

    def find(self, topic_id: str) -> CommentedMap | None:
        for entry in self.topics:
            if isinstance(entry, dict) and str(entry.get("id")) == topic_id:
                return entry
        return None

    def set_fields(
        self, entry: CommentedMap, label: str, answer: str, source_section: str, reviewed: dt.date
    ) -> None:
        """Sets the fields that differ; an unchanged field keeps its exact text."""
        if str(entry.get("label")) != label:
            entry["label"] = DoubleQuotedScalarString(label)
        if " ".join(str(entry.get("answer") or "").split()) != answer:
            entry["answer"] = folded(answer)
        if str(entry.get("source_section")) != source_section:
            entry["source_section"] = DoubleQuotedScalarString(source_section)
        if entry.get("reviewed") != reviewed:
            entry["reviewed"] = reviewed

    def add(self, topic_id: str) -> CommentedMap:
        entry = CommentedMap()
        entry["id"] = topic_id
        for key in ("label", "answer", "source_section", "reviewed"):
            entry[key] = ""
        self.topics.append(entry)
        # A blank line between topics, as in the rest of the file.
        self.topics.yaml_set_comment_before_after_key(len(self.topics) - 1, before="\n")
        return entry


def folded(text: str, width: int = ANSWER_WIDTH) -> FoldedScalarString:
    """`text` as a `>-` block wrapped at `width`, like the answers people wrote by hand."""
    lines = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
    scalar = FoldedScalarString(" ".join(lines))
    positions, offset = [], 0
    for line in lines[:-1]:
        offset += len(line)
        positions.append(offset)
        offset += 1
    scalar.fold_pos = positions
    return scalar


class NluFile(_RoundTripFile):
    """bot/data/nlu.yml, loaded for editing: one block of examples per intent."""

    indent = _NLU_INDENT

    @property
    def blocks(self) -> CommentedSeq:
        return self.document["nlu"]

    def find(self, intent: str) -> CommentedMap | None:
        for block in self.blocks:
            if isinstance(block, dict) and block.get("intent") == intent:
                return block
        return None

    def examples(self) -> dict[str, list[str]]:
        """Intent -> its examples, in file order."""
        found: dict[str, list[str]] = {}
        for block in self.blocks:
            if isinstance(block, dict) and "intent" in block:
                found[str(block["intent"])] = parse_examples(block.get("examples"))
        return found

    def set_examples(self, intent: str, examples: list[str]) -> None:
        """Replaces an intent's examples, adding the intent after the last block of the same
        retrieval intent (faq/…) or at the end when it is new."""
        block = self.find(intent)
        if block is not None:
            if parse_examples(block.get("examples")) != examples:
                block["examples"] = LiteralScalarString(merged(block.get("examples"), examples))
            return
        block = CommentedMap()
        block["intent"] = intent
        block["examples"] = LiteralScalarString("".join(f"- {text}\n" for text in examples))
        prefix = intent.split("/", 1)[0] + "/" if "/" in intent else None
        same_kind = [
            index
            for index, existing in enumerate(self.blocks)
            if prefix and str(existing.get("intent", "")).startswith(prefix)
        ]
        position = same_kind[-1] + 1 if same_kind else len(self.blocks)
        self.blocks.insert(position, block)
        # Blocks are separated by a blank line; the one before the new block stays where it was.
        if position + 1 < len(self.blocks):
            self.blocks.yaml_set_comment_before_after_key(position + 1, before="\n")


def merged(block_text: object, examples: list[str]) -> str:
    """The block's text with `examples` as its examples: kept ones and any comment lines stay
    where they were, removed ones go, new ones are appended (so the diff shows only those)."""
    remaining = list(examples)
    lines = []
    for line in str(block_text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            example = stripped[2:].strip()
            if example not in remaining:
                continue
            remaining.remove(example)
        lines.append(line.strip() if not stripped.startswith("- ") else f"- {example}")
    lines += [f"- {text}" for text in remaining]
    return "".join(f"{line}\n" for line in lines)


def parse_examples(block_text: object) -> list[str]:
    return [
        line.strip()[2:].strip()
        for line in str(block_text or "").splitlines()
        if line.strip().startswith("- ")
    ]
