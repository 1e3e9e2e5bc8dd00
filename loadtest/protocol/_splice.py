"""Request bodies with big texts spliced in: `dumps_spliced` gives the bytes
of `orjson.dumps` of the whole body, where the texts that arrive already
encoded (`Message.content_json`) are written from their pieces instead of
encoded again.

Rules:
- The output is byte for byte `orjson.dumps` of the body with every text in
  its place (a differential test holds it to that). An adapter puts `MARK`
  where each such text goes, in order, and passes the texts' pieces.
- When the encoded skeleton does not hold exactly one mark per text (a
  string elsewhere in the body looks like one, or `extra_body` replaced
  the messages), there is no splice: None, and the adapter encodes the
  body as usual.
- Why: orjson grows its output buffer as it writes, so a ~70 KB prompt
  costs several reallocations and copies (~18 µs a request, bench/README.md);
  a splice is one copy, from the text pool's bytes.

Pure; no I/O.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

__all__ = ["MARK", "dumps_spliced"]

#: Stands for a spliced text in a body (NUL bytes: never in a text sent).
MARK: Final = "\0loadtest:splice\0"
_MARK_JSON: Final = orjson.dumps(MARK)


def dumps_spliced(body: Any, texts: list[tuple[bytes | memoryview, ...]]) -> bytes | None:
    """`orjson.dumps(body)` with the i-th `MARK` replaced by the i-th text's
    JSON string (its pieces between quotes); None when the marks found are
    not one per text."""
    skeleton = orjson.dumps(body)
    parts = skeleton.split(_MARK_JSON)
    if len(parts) != len(texts) + 1:
        return None
    out: list[bytes | memoryview] = [parts[0]]
    for pieces, part in zip(texts, parts[1:], strict=True):
        out.append(b'"')
        out.extend(pieces)
        out.append(b'"')
        out.append(part)
    return b"".join(out)
