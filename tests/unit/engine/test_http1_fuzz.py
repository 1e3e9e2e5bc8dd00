"""Differential fuzzing of `engine._http1.ResponseReader` against h11 as the oracle.

Hypothesis generates valid responses (random statuses, reasons, random-case header
names, obs-fold, bare-LF heads, Content-Length, chunked with random chunk sizes,
extensions and trailers, read-until-close, 1xx prefixes, Connection: close,
HTTP/1.0, HEAD requests), serialises them and feeds both readers the same bytes cut
at Hypothesis-chosen offsets. They must agree on status, reason, headers, body and
reusability, except where the module documents a deliberate difference (HTTP/1.0
with `Connection: keep-alive` stays reusable for us; h11 never reuses HTTP/1.0).

Random bytes and mutated valid responses must only ever raise the module's own
errors, within a time limit (no endless loop); when both readers accept a mutated
response, they must decode it the same way.
"""

from __future__ import annotations

import contextlib
import signal
import string
from typing import TYPE_CHECKING, NamedTuple

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.engine._http1 import Http1Error, ResponseReader

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loadtest.engine._http1 import ResponseHead

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIME_LIMIT_S = 5.0

TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
COMMON_NAMES = ["content-type", "server", "date", "x-request-id", "set-cookie", "cache-control"]
FRAMING_NAMES = {"content-length", "transfer-encoding", "connection"}
# Field-value characters h11 accepts: no NUL, CR, LF, VT or FF; some other controls.
VALUE_CHARS = "".join(map(chr, [*range(0x21, 0x7F), *range(0x80, 0x100), 0x01, 0x1F, 0x7F]))


class Spec(NamedTuple):
    """A generated response and what the test needs to know about it."""

    raw: bytes
    head_request: bool
    until_close: bool  # the body ends at EOF
    http10_keep_alive: bool  # ours may reuse the connection where h11 never does
    body_start: int  # offset of the body in `raw`
    chunk_starts: tuple[int, ...]  # offsets in `raw` where chunks start (chunked only)


class Decoded(NamedTuple):
    """One reader's decoding of a response, in a form both readers can produce."""

    status: int
    reason: str
    http_version: str
    headers: dict[str, str]
    body: bytes


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail with TimeoutError if the block runs longer than `seconds` (an endless loop)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def header_names(draw: st.DrawFn) -> str:
    """A token, common or random, in random letter case, never a framing header."""
    name = draw(
        st.sampled_from(COMMON_NAMES) | st.text(TOKEN_CHARS, min_size=1, max_size=12)
    ).lower()
    if name in FRAMING_NAMES:
        name = "x-" + name
    upper = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if up else c for c, up in zip(name, upper, strict=True))


@st.composite
def field_lines(draw: st.DrawFn, names: st.SearchStrategy[str]) -> list[bytes]:
    """`name: value` lines with optional OWS, empty values and obs-fold continuations."""
    lines = []
    for name in draw(st.lists(names, max_size=6)):
        words = draw(st.lists(st.text(VALUE_CHARS, min_size=1, max_size=8), max_size=3))
        separators = draw(st.lists(st.sampled_from([" ", "\t", "  ", "\r\n ", "\n\t"]), max_size=3))
        value = "".join(w + s for w, s in zip(words, separators, strict=False)) + "".join(
            words[len(separators) :]
        )
        before, after = draw(st.sampled_from(["", " ", "\t "])), draw(st.sampled_from(["", " "]))
        lines.append(f"{name}:{before}{value}{after}".encode("latin-1"))
    return lines


@st.composite
def heads(draw: st.DrawFn, status: int, version: str, fields: list[bytes]) -> bytes:
    """A status line and field lines, each ending with CRLF or (h11 accepts it) LF."""
    reason = draw(st.sampled_from(["OK", "", "Not Found", "tab\there", "caf\xe9"]))
    status_line = f"HTTP/{version} {status}"
    if reason or draw(st.booleans()):
        status_line += f" {reason}"
    lines = [status_line.encode("latin-1"), *fields, b""]
    return b"".join(line + draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"])) for line in lines)


@st.composite
def chunked_bodies(draw: st.DrawFn, body: bytes) -> tuple[bytes, list[int]]:
    """`body` as chunks of random sizes, hex case and extensions, then optional trailers.

    Also returns where each chunk starts, so that tests can feed one chunk per call.
    """
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=8))))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    out, starts = b"", []
    extensions = st.sampled_from([b"", b"", b";a", b";a=b", b';n="q;v"', b";x=1;y=2"])
    for piece in (p for p in pieces if p):
        starts.append(len(out))
        size = draw(st.sampled_from(["%x", "%X", "00%x"])) % len(piece)
        out += size.encode() + draw(extensions) + b"\r\n" + piece + b"\r\n"
    starts.append(len(out))
    trailers = draw(field_lines(st.text(TOKEN_CHARS, min_size=1, max_size=8)))
    out += b"0" + draw(extensions) + b"\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"
    return out, starts


@st.composite
def framed_bodies(draw: st.DrawFn, framing: str) -> tuple[list[bytes], bytes, list[int]]:
    """Framing header lines, the body as sent, and where its chunks start (if chunked)."""
    body = draw(st.binary(max_size=300) | st.binary(min_size=300, max_size=3000))
    if framing == "chunked":
        coding = draw(st.sampled_from([b"chunked", b"Chunked"]))
        return [b"Transfer-Encoding: " + coding], *draw(chunked_bodies(body))
    length = len(body)
    if framing == "length":
        return [b"Content-Length: %d" % length], body, []
    if framing == "repeated-length":
        return (
            [b"Content-Length: %d, %d" % (length, length), b"content-length: %d" % length],
            body,
            [],
        )
    return [], body, []


@st.composite
def responses(draw: st.DrawFn) -> Spec:
    """A valid response with any 1xx prefix, framing, version and Connection header."""
    head_request = draw(st.integers(0, 4)) == 0
    interim = b"".join(
        draw(heads(status, "1.1", draw(field_lines(header_names()))))
        for status in draw(st.lists(st.sampled_from([100, 102, 103]), max_size=2))
    )
    version = draw(st.sampled_from(["1.1", "1.1", "1.0"]))
    status = draw(st.sampled_from([200, 204, 304]) | st.integers(200, 599))
    connection = draw(st.sampled_from([None, "close", "keep-alive", "Keep-Alive", "close, te"]))
    framing = draw(st.sampled_from(["length", "repeated-length", "chunked", "chunked", "close"]))
    framing_fields, wire_body, chunk_starts = draw(framed_bodies(framing))
    fields = draw(field_lines(header_names())) + framing_fields
    if connection is not None:
        fields.append(f"Connection: {connection}".encode())
    head = interim + draw(heads(status, version, draw(st.permutations(fields))))
    no_body = head_request or status in (204, 304)
    raw = head + (b"" if no_body else wire_body)
    tokens = (connection or "").lower()
    http10_keep_alive = (
        version == "1.0"
        and "keep-alive" in tokens
        and "close" not in tokens
        and (no_body or framing.endswith("length"))
    )
    boundaries = tuple(len(head) + start for start in chunk_starts if not no_body)
    until_close = framing == "close" and not no_body
    return Spec(raw, head_request, until_close, http10_keep_alive, len(head), boundaries)


def cut(raw: bytes, offsets: list[int]) -> list[bytes]:
    """`raw` cut at the given offsets (possibly giving empty pieces)."""
    bounds = sorted(offsets)
    return [raw[a:b] for a, b in zip([0, *bounds], [*bounds, len(raw)], strict=True)]


def comparable(
    status: int, reason: str, version: str, headers: dict[str, str], body: bytes
) -> Decoded:
    """Drop the normalisations h11 applies to framing headers (it dedups Content-Length
    repeats and lower-cases Transfer-Encoding), keeping the meaning."""
    fields = dict(headers)
    if "content-length" in fields:
        fields["content-length"] = str({v.strip() for v in fields["content-length"].split(",")})
    if "transfer-encoding" in fields:
        fields["transfer-encoding"] = fields["transfer-encoding"].lower()
    return Decoded(status, reason, version, fields, body)


def ours(pieces: list[bytes], head_request: bool, eof: bool) -> tuple[Decoded, bool]:
    """Our decoding of the pieces, and whether the connection may be reused."""
    reader = ResponseReader(head_request=head_request)
    body = b"".join(reader.feed(piece) for piece in pieces)
    if eof:
        body += reader.feed_eof()
    assert reader.done
    head: ResponseHead | None = reader.head
    assert head is not None
    decoded = comparable(head.status, head.reason, head.http_version, head.headers, body)
    return decoded, reader.keep_alive


def theirs(pieces: list[bytes], head_request: bool, eof: bool) -> tuple[Decoded, bool] | None:
    """h11's decoding of the pieces and whether its client may send another request;
    None if h11 did not see a complete response. Raises h11.ProtocolError if it refuses."""
    connection = h11.Connection(h11.CLIENT)
    method = "HEAD" if head_request else "GET"
    connection.send(h11.Request(method=method, target="/", headers=[("Host", "gw")]))
    connection.send(h11.EndOfMessage())
    response, body = None, b""
    for piece in [p for p in pieces if p] + [b""] * eof:  # b"" is EOF for h11
        connection.receive_data(piece)
        while (event := connection.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.ConnectionClosed):
                break
    if response is None or connection.their_state not in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
        return None
    headers: dict[str, str] = {}
    for name, value in response.headers:
        key, text = name.decode(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    decoded = comparable(
        response.status_code,
        response.reason.decode("latin-1"),
        response.http_version.decode(),
        headers,
        body,
    )
    return decoded, connection.our_state is connection.their_state is h11.DONE


def draw_offsets(data: st.DataObject, spec: Spec) -> list[int]:
    """Cut points anywhere, in the body, and (often) at every chunk start: one chunk per
    feed is how gateways stream, and it takes the reader's fast path."""
    anywhere = data.draw(st.lists(st.integers(0, len(spec.raw)), max_size=6))
    in_body = data.draw(st.lists(st.integers(spec.body_start, len(spec.raw)), max_size=6))
    per_chunk = list(spec.chunk_starts) if data.draw(st.booleans()) else []
    return anywhere + in_body + per_chunk


@FUZZ
@given(spec=responses(), data=st.data())
def test_valid_responses_decode_like_h11(spec: Spec, data: st.DataObject) -> None:
    """Status, reason, headers, body and reuse match h11 for valid responses, any split."""
    pieces = cut(spec.raw, draw_offsets(data, spec))
    with time_limit(TIME_LIMIT_S):
        decoded, keep_alive = ours(pieces, spec.head_request, spec.until_close)
    h11_result = theirs(pieces, spec.head_request, spec.until_close)
    assert h11_result is not None
    expected, reusable = h11_result
    assert decoded == expected
    assert keep_alive == (reusable or spec.http10_keep_alive)


def only_own_errors(pieces: list[bytes], head_request: bool = False) -> tuple[Decoded, bool] | None:
    """Feed the pieces then EOF; return the decoding, or None after one of our errors."""
    try:
        with time_limit(TIME_LIMIT_S):
            return ours(pieces, head_request, eof=True)
    except Http1Error:
        return None


@FUZZ
@given(
    prefix=st.sampled_from(
        [b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
    ),
    garbage=st.binary(max_size=400),
    data=st.data(),
)
def test_garbage_raises_only_own_errors(prefix: bytes, garbage: bytes, data: st.DataObject) -> None:
    """Random bytes (after an optional valid prefix) raise nothing but Http1Error."""
    raw = prefix + garbage
    only_own_errors(cut(raw, data.draw(st.lists(st.integers(0, len(raw)), max_size=6))))


mutations = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete"]),
        st.integers(0),
        st.binary(min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=4,
)


def mutate(raw: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    """Apply byte edits at positions taken modulo the length."""
    for kind, where, chunk in edits:
        position = where % (len(raw) + 1)
        if kind == "insert":
            raw = raw[:position] + chunk + raw[position:]
        elif kind == "replace":
            raw = raw[:position] + chunk + raw[position + len(chunk) :]
        else:
            raw = raw[:position] + raw[position + len(chunk) :]
    return raw


def h11_accepts(pieces: list[bytes], head_request: bool) -> tuple[Decoded, bool] | None:
    """h11's decoding of a complete response followed by EOF, or None if it refuses it."""
    try:
        return theirs(pieces, head_request, eof=True)
    except h11.ProtocolError:
        return None


@FUZZ
@given(spec=responses(), edits=mutations, data=st.data())
def test_mutated_responses_raise_only_own_errors(
    spec: Spec, edits: list[tuple[str, int, bytes]], data: st.DataObject
) -> None:
    """Mutated valid responses raise nothing but Http1Error, and agree with h11 when both accept."""
    raw = mutate(spec.raw, edits)
    pieces = cut(raw, data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    decoded = only_own_errors(pieces, spec.head_request)
    expected = h11_accepts(pieces, spec.head_request)
    if decoded is not None and expected is not None:
        assert decoded[0] == expected[0]
