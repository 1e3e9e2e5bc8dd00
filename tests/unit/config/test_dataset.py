"""Dataset files: the record layouts, field mapping, filters, and errors
that name the file, the line and the field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from loadtest.config import (
    DatasetContent,
    DatasetFields,
    DatasetRecord,
    load_datasets,
    load_profile,
    parse_dataset,
    parse_profile,
    resolve,
)
from loadtest.config import _dataset as dataset_module
from loadtest.config._dataset import select
from loadtest.errors import ConfigError

PROFILES = Path(__file__).parents[3] / "profiles"


def jsonl(*objects: Any) -> bytes:
    return "\n".join(json.dumps(o) for o in objects).encode()


def error_of(raw: bytes, fields: DatasetFields | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_dataset(raw, "d.jsonl", fields)
    (line,) = caught.value.problems
    return line


def test_the_three_record_layouts() -> None:
    """A prompt (with its system prompt), {role, content} messages and a
    ShareGPT conversation: user turns kept in order, replies kept apart,
    a system entry becomes the system prompt."""
    raw = jsonl(
        {"prompt": "hi", "system": "be brief"},
        {
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "reply one"},
                {"role": "user", "content": "two"},
            ]
        },
        {
            "conversations": [
                {"from": "human", "value": "q1"},
                {"from": "gpt", "value": "a1"},
                {"from": "human", "value": "q2"},
                {"from": "gpt", "value": ""},
            ]
        },
    )
    assert parse_dataset(raw, "d.jsonl") == (
        DatasetRecord(("hi",), "be brief"),
        DatasetRecord(("one", "two"), "sys", ("reply one",)),
        DatasetRecord(("q1", "q2"), None, ("a1", "")),
    )


def test_a_json_array_is_the_sharegpt_layout() -> None:
    """A file starting with `[` is one JSON array of records; blank lines in
    JSON lines are skipped."""
    records = [{"conversations": [{"from": "human", "value": f"q{i}"}]} for i in range(3)]
    assert parse_dataset(b"\n " + json.dumps(records, indent=2).encode(), "d.json") == tuple(
        DatasetRecord((f"q{i}",)) for i in range(3)
    )
    assert parse_dataset(b'\n{"prompt": "a"}\n\n{"prompt": "b"}\n', "d") == (
        DatasetRecord(("a",)),
        DatasetRecord(("b",)),
    )


def test_fields_map_other_key_names() -> None:
    fields = DatasetFields(prompt="question", messages="dialog", conversations="conv")
    raw = jsonl({"question": "why?"}, {"dialog": [{"role": "user", "content": "x"}]})
    assert parse_dataset(raw, "d", fields) == (DatasetRecord(("why?",)), DatasetRecord(("x",)))
    assert "expected one of the keys" in error_of(jsonl({"prompt": "x"}), fields)
    with pytest.raises(ValueError, match="prompt: must not be empty"):
        DatasetFields(prompt="")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"prompt": "a"}\n{"prompt": "b"\n', "d.jsonl: line 2, column 15: invalid JSON"),
        (jsonl({"prompt": "a"}, ["x"]), "d.jsonl: line 2: $: expected an object, got a list"),
        (jsonl({"prompt": 3}), "d.jsonl: line 1: $.prompt: expected a string, got 3"),
        (jsonl({"prompt": {}}), "d.jsonl: line 1: $.prompt: expected a string, got an object"),
        (
            jsonl({"messages": [{"role": "x" * 50, "content": "a"}]}),
            'got "' + "x" * 40 + '..."',
        ),
        (jsonl({"prompt": " "}), "d.jsonl: line 1: $.prompt: must not be empty"),
        (jsonl({"text": "a"}), 'line 1: $: expected one of the keys "prompt", "messages"'),
        (
            jsonl({"prompt": "a", "system": ["x"]}),
            "line 1: $.system: expected a string, got a list",
        ),
        (
            jsonl({"prompt": "a"}, {"messages": [{"role": "tool", "content": "x"}]}),
            "d.jsonl: line 2: $.messages[0].role: expected one of system, user, assistant; "
            'got "tool"',
        ),
        (
            jsonl({"messages": [{"content": "x"}]}),
            "$.messages[0].role: expected one of system, user, assistant; got nothing",
        ),
        (jsonl({"messages": "hi"}), 'line 1: $.messages: expected a list, got "hi"'),
        (jsonl({"messages": [3]}), "$.messages[0]: expected an object, got 3"),
        (
            jsonl({"messages": [{"role": "user", "content": None}]}),
            "$.messages[0].content: expected a string, got null",
        ),
        (
            jsonl({"messages": [{"role": "assistant", "content": 1}]}),
            "$.messages[0].content: expected a string, got 1",
        ),
        (
            jsonl({"messages": [{"role": "assistant", "content": "a"}]}),
            "line 1: $.messages: holds no user turn",
        ),
        (
            jsonl(
                {
                    "conversations": [
                        {"from": "human", "value": "a"},
                        {"from": "system", "value": "late"},
                    ]
                }
            ),
            "$.conversations[1].from: a system entry comes once, before the first turn",
        ),
        (
            jsonl({"conversations": [{"from": "bot", "value": "a"}]}),
            "$.conversations[0].from: expected one of system, human, user, gpt, assistant, "
            'chatgpt; got "bot"',
        ),
        (jsonl({"prompt": "\ud800"}), "$.prompt: holds a lone surrogate"),
        (b'{"prompt": "a"}\n{"prompt": "\xff"}', "d.jsonl: line 2: not UTF-8 (byte 28)"),
        (b"\n\n", "d.jsonl: holds no record"),
        (b"[]", "d.jsonl: holds no record"),
        (b'[{"prompt": "a"},\n {"prompt": 1}]', "d.jsonl: line 2: $.prompt: expected a string"),
        (b'[{"prompt": "a"}\n {"prompt": "b"}]', "d.jsonl: line 2: invalid JSON: expected ','"),
        (b'[{"prompt": "a"},\n {"prompt": ]', "d.jsonl: line 2, column 13: invalid JSON"),
        (b'[{"prompt": "a"}] x', "d.jsonl: line 1: invalid JSON: text after the array"),
        (b'{"prompt": "a", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "line 1: nested too deeply"),
    ],
)
def test_each_malformed_record_names_the_line_and_field(raw: bytes, message: str) -> None:
    assert message in error_of(raw)


def test_text_and_turn_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset_module.limit, "MAX_TEXT_CHARS", 5)
    assert "$.prompt: at most 5 characters, got 6" in error_of(jsonl({"prompt": "abcdef"}))
    monkeypatch.setattr(dataset_module.limit, "MAX_TURNS", 2)
    turns = [{"role": "user", "content": "x"}] * 3
    assert "$.messages: at most 2 user turns, got 3" in error_of(jsonl({"messages": turns}))


@pytest.mark.parametrize("layout", ["lines", "array"])
def test_too_many_records(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    monkeypatch.setattr(dataset_module, "MAX_DATASET_RECORDS", 2)
    records = [{"prompt": "a"}] * 4
    raw = jsonl(*records) if layout == "lines" else json.dumps(records).encode()
    assert error_of(raw) == "d.jsonl: at most 2 records"


def records_of(*turns: tuple[str, ...]) -> tuple[DatasetRecord, ...]:
    return tuple(DatasetRecord(t, None, tuple(f"r{i}" for i in range(len(t)))) for t in turns)


def test_select_caps_turns_then_filters_on_every_turn() -> None:
    """max_turns cuts a record's turns (and replies); the length filter
    keeps records whose every sent turn is within it; the lengths are
    those of the records kept."""
    records = records_of(("a b", "a b c d e"), ("a",), ("a b c",))
    content = DatasetContent(path="d", min_prompt_tokens=2, max_prompt_tokens=3, max_turns=1)
    dataset = select(records, "d", content)
    assert dataset.records == (
        DatasetRecord(("a b",), None, ("r0",)),
        DatasetRecord(("a b c",), None, ("r0",)),
    )
    assert dataset.prompt_lengths == (2, 3)
    assert dataset.reply_lengths == (2, 2)  # "r0": a letter and a digit
    uncapped = select(records, "d", DatasetContent(path="d", min_prompt_tokens=2))
    assert [r.turns for r in uncapped.records] == [("a b", "a b c d e"), ("a b c",)]


def test_a_filter_that_keeps_nothing_is_an_error() -> None:
    content = DatasetContent(path="d", min_prompt_tokens=50)
    with pytest.raises(ConfigError, match=r"d: no usable record: all 2 have a user turn outside "):
        select(records_of(("a",), ("b",)), "d", content)


def test_the_filter_bounds_are_ordered() -> None:
    with pytest.raises(ValueError, match="min_prompt_tokens"):
        DatasetContent(path="d", min_prompt_tokens=5, max_prompt_tokens=4)


def profile_with(tmp_path: Path, content: dict[str, Any], **defaults: Any) -> Path:
    path = tmp_path / "p" / "profile.json"
    path.parent.mkdir(exist_ok=True)
    data = {
        "stages": ["1:1s"],
        "defaults": {"target": "http://h", "model": "m", "content": content, **defaults},
    }
    path.write_text(json.dumps(data))
    return path


def test_relative_paths_are_relative_to_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative dataset path is read from the profile's directory, whatever
    the working directory; the loaded plan holds its records."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "d.jsonl").write_bytes(jsonl({"prompt": "hi"}, {"prompt": "ho"}))
    path = profile_with(tmp_path, {"mode": "dataset", "path": "d.jsonl"})
    monkeypatch.chdir(tmp_path)
    profile = load_profile(path)
    content = profile.defaults.content
    assert isinstance(content, DatasetContent)
    assert content.path == str((tmp_path / "p" / "d.jsonl").resolve())
    plan = load_datasets(resolve(profile, env={}))
    dataset = plan.scenarios[0].dataset
    assert dataset is not None
    assert [r.turns for r in dataset.records] == [("hi",), ("ho",)]
    assert load_datasets(plan) is plan  # loaded once


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "d.jsonl: no such dataset file"),
        (lambda d: d.mkdir(), "d.jsonl: a directory, not a dataset file"),
        (lambda d: d.write_bytes(b'{"prompt": 1}'), "d.jsonl: line 1: $.prompt: expected"),
        (lambda d: d.write_bytes(b"x" * 2**20 + b"x"), "d.jsonl: a dataset is at most 1 MiB"),
    ],
)
def test_file_problems_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: Any, message: str
) -> None:
    monkeypatch.setattr("loadtest.config._files.MAX_DATASET_BYTES", 2**20)
    (tmp_path / "p").mkdir()
    setup(tmp_path / "p" / "d.jsonl")
    plan = resolve(load_profile(profile_with(tmp_path, {"mode": "dataset", "path": "d.jsonl"})))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_datasets(plan)


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "d.jsonl":
            raise PermissionError(13, "Permission denied")
        return read_bytes(self)

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "d.jsonl").write_bytes(b"{}")
    plan = resolve(load_profile(profile_with(tmp_path, {"mode": "dataset", "path": "d.jsonl"})))
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"d.jsonl: cannot read: Permission denied"):
        load_datasets(plan)


def test_empirical_counts_take_the_lengths_of_their_dataset(tmp_path: Path) -> None:
    """max_tokens "empirical" draws the reply lengths of the scenario's own
    dataset, or of the file it names; approx_input_tokens the prompt lengths
    of its file. Each file is read once."""
    (tmp_path / "p").mkdir()
    conversation = [
        {"from": "human", "value": "a b"},
        {"from": "gpt", "value": "w w w"},
        {"from": "human", "value": "c"},
        {"from": "gpt", "value": "w"},
    ]
    (tmp_path / "p" / "d.json").write_text(json.dumps([{"conversations": conversation}]))
    own = profile_with(
        tmp_path, {"mode": "dataset", "path": "d.json"}, max_tokens={"dist": "empirical"}
    )
    scenario = load_datasets(resolve(load_profile(own))).scenarios[0]
    assert scenario.output_lengths == (3, 1)
    sized = profile_with(
        tmp_path,
        {"mode": "sized", "approx_input_tokens": {"dist": "empirical", "dataset": "d.json"}},
        max_tokens={"dist": "empirical", "dataset": "d.json"},
    )
    scenario = load_datasets(resolve(load_profile(sized))).scenarios[0]
    assert (scenario.input_lengths, scenario.output_lengths) == ((2, 1), (3, 1))


@pytest.mark.parametrize(
    ("content", "max_tokens", "message"),
    [
        (
            {"mode": "pool", "prompts": ["x"]},
            {"dist": "empirical"},
            "scenario 'default': max_tokens: an \"empirical\" distribution names its "
            '"dataset" unless',
        ),
        (
            {"mode": "dataset", "path": "d.jsonl"},
            {"dist": "empirical"},
            "max_tokens: .*d.jsonl holds no assistant reply to take lengths from",
        ),
    ],
)
def test_empirical_problems(
    tmp_path: Path, content: dict[str, Any], max_tokens: dict[str, Any], message: str
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "d.jsonl").write_bytes(jsonl({"prompt": "x"}))
    path = profile_with(tmp_path, content, max_tokens=max_tokens)
    with pytest.raises(ConfigError, match=message):
        load_datasets(resolve(load_profile(path)))


def test_turns_with_dataset_content_warn() -> None:
    """A dataset conversation is its record's turns: `turns` set to
    anything else is not used, and `validate` says so."""
    text = json.dumps(
        {
            "stages": ["1:1s"],
            "defaults": {
                "target": "http://h",
                "model": "m",
                "turns": 3,
                "content": {"mode": "dataset", "path": "d.jsonl"},
            },
        }
    )
    (warning,) = resolve(parse_profile(text, "json"), env={}).warnings
    assert "turns is not used with dataset content" in warning


def test_the_shipped_dataset_parses() -> None:
    """profiles/datasets/chat-mix.jsonl: one-turn and multi-turn records, in
    both layouts, some with a system prompt and with replies."""
    path = PROFILES / "datasets" / "chat-mix.jsonl"
    records = parse_dataset(path.read_bytes(), path.name)
    assert len(records) == 80
    assert sum(len(r.turns) > 1 for r in records) == 20
    assert any(r.system for r in records if len(r.turns) > 1)
    assert sum(len(r.replies) for r in records) > 40
