"""Dataset content: the profile block, and dataset files parsed into records.

A dataset file holds prompts or whole conversations, one record each:

- JSON lines: one object per line (blank lines skipped), or
- one JSON array of such objects (the ShareGPT layout), told apart by its
  first character (`[`).

A record is `{"prompt": "...", "system": "..."}` (one turn),
`{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}]}` or
ShareGPT's `{"conversations": [{"from": "system"|"human"|"gpt", "value":
"..."}]}`; `content.fields` renames the four keys. The user turns are what a
conversation sends; the file's assistant replies are dropped (the live
replies take their place, as in scripted mode) but their lengths are kept,
for `empirical` max_tokens. A system entry, before the first user turn,
becomes the conversation's system prompt.

Rules:
- Errors name the file, the line (of the record's start) and the field:
  `chat.jsonl: line 7: $.messages[2].role: expected one of system, user,
  assistant; got "tool"`. The first problem stops the parse.
- Limits: `MAX_DATASET_RECORDS` records, `MAX_TURNS` user turns per record,
  `MAX_TEXT_CHARS` characters per text, no lone surrogates; the file size
  is checked where it is read (`_files`).
- `select` applies the block's `max_turns` cap and its prompt-length filter
  (every user turn sent, estimated with `loadtest.tokens`); none left is an
  error.

Pure: bytes in, records out.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.errors import ConfigError
from loadtest.tokens import estimate_tokens

__all__ = [
    "MAX_DATASET_BYTES",
    "MAX_DATASET_RECORDS",
    "Dataset",
    "DatasetContent",
    "DatasetFields",
    "DatasetRecord",
    "parse_dataset",
    "select",
]

#: Largest dataset file, and most records in one.
MAX_DATASET_BYTES = 256 * 1024 * 1024
MAX_DATASET_RECORDS = 1_000_000

_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}
_SHAREGPT = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
}


def _doc(doc: str, **kwargs: Any) -> Any:
    return attrs.field(metadata={"doc": doc}, **kwargs)


def _key(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value:
        raise FieldError(attribute.name, "must not be empty")
    check.name(_instance, attribute, value)


_key.schema = check.name.schema  # type: ignore[attr-defined]  # read by _schema


@attrs.frozen
class DatasetFields:
    """The keys a dataset's records use, when they are not the usual ones."""

    prompt: str = _doc("Key of a one-turn record's prompt.", default="prompt", validator=_key)
    system: str = _doc(
        "Key of a one-turn record's system prompt.", default="system", validator=_key
    )
    messages: str = _doc(
        "Key of a record's list of {role, content} messages.", default="messages", validator=_key
    )
    conversations: str = _doc(
        "Key of a ShareGPT record's list of {from, value} entries.",
        default="conversations",
        validator=_key,
    )


@attrs.frozen
class DatasetContent:
    """Each conversation sends the user turns of one record of a dataset file."""

    path: str = _doc(
        "Dataset file: JSON lines or a JSON array (relative to the profile's directory).",
        validator=check.path,
    )
    fields: DatasetFields = _doc(  # noqa: RUF009  (attrs.field, as in _model)
        "Keys of the records, if not the usual ones.", factory=DatasetFields
    )
    replacement: bool = _doc(
        "Draw records with replacement (true) or use each once before any repeats (false).",
        default=True,
    )
    min_prompt_tokens: int | None = _doc(
        "Keep only records whose every user turn has at least this many tokens.",
        default=None,
        validator=check.between(1, limit.MAX_INPUT_TOKENS),
    )
    max_prompt_tokens: int | None = _doc(
        "Keep only records whose every user turn has at most this many tokens.",
        default=None,
        validator=check.between(1, limit.MAX_INPUT_TOKENS),
    )
    max_turns: int | None = _doc(
        "Send at most this many user turns of a record.",
        default=None,
        validator=check.between(1, limit.MAX_TURNS),
    )

    def __attrs_post_init__(self) -> None:
        low, high = self.min_prompt_tokens, self.max_prompt_tokens
        if low is not None and high is not None and low > high:
            raise FieldError("min_prompt_tokens", f"must not exceed max_prompt_tokens ({high})")


@attrs.frozen
class DatasetRecord:
    """One conversation of a dataset: its user turns, in order, its system
    prompt (None: the scenario's), and the file's replies (lengths only)."""

    turns: tuple[str, ...]
    system: str | None = None
    replies: tuple[str, ...] = ()


@attrs.frozen(eq=False)
class Dataset:
    """The records a scenario draws from, and the lengths (estimated tokens)
    of their user turns and of the file's replies."""

    source: str
    records: tuple[DatasetRecord, ...]
    prompt_lengths: tuple[int, ...]
    reply_lengths: tuple[int, ...]


class _Bad(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value[:40] + ("..." if len(value) > 40 else ""))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Bad(path, f"expected a string, got {_show(value)}")
    if not value.strip():
        raise _Bad(path, "must not be empty")
    if len(value) > limit.MAX_TEXT_CHARS:
        raise _Bad(path, f"at most {limit.MAX_TEXT_CHARS:,} characters, got {len(value):,}")
    if check.has_surrogate(value):
        raise _Bad(path, "holds a lone surrogate, which is not text")
    return value


def _entries(items: Any, path: str, keys: tuple[str, str], roles: dict[str, str]) -> DatasetRecord:
    """A record from a list of {role, content} (or {from, value}) entries."""
    if not isinstance(items, list):
        raise _Bad(path, f"expected a list, got {_show(items)}")
    role_key, text_key = keys
    system: str | None = None
    turns: list[str] = []
    replies: list[str] = []
    for index, entry in enumerate(items):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict):
            raise _Bad(where, f"expected an object, got {_show(entry)}")
        named = entry.get(role_key)
        role = roles.get(named) if isinstance(named, str) else None
        if role is None:
            choices = ", ".join(roles)
            got = _show(entry[role_key]) if role_key in entry else "nothing"
            raise _Bad(f"{where}.{role_key}", f"expected one of {choices}; got {got}")
        if role == "assistant":  # dropped from what is sent: only its length counts
            reply = entry.get(text_key)
            if not isinstance(reply, str):
                raise _Bad(f"{where}.{text_key}", f"expected a string, got {_show(reply)}")
            replies.append(reply)
            continue
        text = _text(entry.get(text_key), f"{where}.{text_key}")
        if role == "user":
            turns.append(text)
        elif turns or system is not None:
            raise _Bad(f"{where}.{role_key}", "a system entry comes once, before the first turn")
        else:
            system = text
    if not turns:
        raise _Bad(path, "holds no user turn")
    if len(turns) > limit.MAX_TURNS:
        raise _Bad(path, f"at most {limit.MAX_TURNS:,} user turns, got {len(turns):,}")
    return DatasetRecord(tuple(turns), system, tuple(replies))


def _record(obj: Any, fields: DatasetFields) -> DatasetRecord:
    if not isinstance(obj, dict):
        raise _Bad("$", f"expected an object, got {_show(obj)}")
    if fields.conversations in obj:
        path = f"$.{fields.conversations}"
        return _entries(obj[fields.conversations], path, ("from", "value"), _SHAREGPT)
    if fields.messages in obj:
        return _entries(obj[fields.messages], f"$.{fields.messages}", ("role", "content"), _ROLES)
    if fields.prompt in obj:
        prompt = _text(obj[fields.prompt], f"$.{fields.prompt}")
        system = obj.get(fields.system)
        if system is not None:
            system = _text(system, f"$.{fields.system}")
        return DatasetRecord((prompt,), system)
    named = ", ".join(f'"{key}"' for key in (fields.prompt, fields.messages, fields.conversations))
    raise _Bad("$", f"expected one of the keys {named} (content.fields maps other names)")


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{source}: line {line}: not UTF-8 (byte {exc.start})") from None


def _objects(text: str, source: str) -> list[tuple[int, Any]]:
    """(line, value) of each record: one per non-blank line, or each item
    of a top-level JSON array."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _array_items(text, source, len(text) - len(stripped) + 1)
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        items.append((number, _load(line, source, number)))
        if len(items) > MAX_DATASET_RECORDS:
            break
    return items


def _load(text: str, source: str, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: line {line}, column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{source}: line {line}: nested too deeply") from None


def _array_items(text: str, source: str, start: int) -> list[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    position = start
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]" and not items:
            position += 1
            break
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{source}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
            ) from None
        except RecursionError:
            raise ConfigError(f"{source}: line {line}: nested too deeply") from None
        items.append((line, value))
        if len(items) > MAX_DATASET_RECORDS:
            return items
        position = _skip_space(text, position)
        if text[position : position + 1] == ",":
            position += 1
            continue
        if text[position : position + 1] == "]":
            position += 1
            break
        line = text.count("\n", 0, position) + 1
        raise ConfigError(f"{source}: line {line}: invalid JSON: expected ',' or ']'")
    if text[_skip_space(text, position) :]:
        line = text.count("\n", 0, position) + 1
        raise ConfigError(f"{source}: line {line}: invalid JSON: text after the array")
    return items


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def parse_dataset(
    raw: bytes, source: str, fields: DatasetFields | None = None
) -> tuple[DatasetRecord, ...]:
    """Every record of a dataset file; `ConfigError` naming `source`, the
    line and the field of the first problem."""
    fields = fields or DatasetFields()
    objects = _objects(_decode(raw, source), source)
    if len(objects) > MAX_DATASET_RECORDS:
        raise ConfigError(f"{source}: at most {MAX_DATASET_RECORDS:,} records")
    records = []
    for line, obj in objects:
        try:
            records.append(_record(obj, fields))
        except _Bad as exc:
            raise ConfigError(f"{source}: line {line}: {exc}") from None
    if not records:
        raise ConfigError(f"{source}: holds no record")
    return tuple(records)


def select(
    records: tuple[DatasetRecord, ...], source: str, content: DatasetContent | None = None
) -> Dataset:
    """The records a scenario uses: turns capped at `max_turns`, then kept
    when every user turn's length is within the filter; their lengths."""
    low = (content and content.min_prompt_tokens) or 1
    high = (content and content.max_prompt_tokens) or limit.MAX_INPUT_TOKENS
    cap = (content and content.max_turns) or limit.MAX_TURNS
    kept: list[DatasetRecord] = []
    prompt_lengths: list[int] = []
    reply_lengths: list[int] = []
    for record in records:
        turns = record.turns[:cap]
        lengths = [estimate_tokens(turn) for turn in turns]
        if all(low <= n <= high for n in lengths):
            replies = record.replies[:cap]
            kept.append(attrs.evolve(record, turns=turns, replies=replies))
            prompt_lengths += lengths
            reply_lengths += [estimate_tokens(reply) for reply in replies]
    if not kept:
        raise ConfigError(
            f"{source}: no usable record: all {len(records):,} have a user turn "
            f"outside {low}..{high} tokens (min_prompt_tokens, max_prompt_tokens)"
        )
    return Dataset(source, tuple(kept), tuple(prompt_lengths), tuple(reply_lengths))
