"""Conformance and error cases of the sans-IO HTTP/1.1 client framing (`engine._http1`).

Every response case is decoded fed whole, split in two at every byte offset, and one
byte at a time; all of them must give the same head, body, `keep_alive` and
`trailing` (streaming bugs live at chunk boundaries). Error cases must raise the same
error class, with the same message, however the bytes are split.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

import h11
import pytest

from loadtest.engine._http1 import (
    MAX_CHUNK_LINE_BYTES,
    MAX_HEAD_BYTES,
    Http1Error,
    IncompleteResponse,
    MalformedResponse,
    ResponseHead,
    ResponseReader,
    build_request_head,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


class Outcome(NamedTuple):
    """What a reader made of a response: compared across every split."""

    head: ResponseHead | None
    body: bytes
    done: bool
    keep_alive: bool
    trailing: bytes


def splits(raw: bytes) -> Iterator[list[bytes]]:
    """The input whole, cut in two at every offset, and one byte at a time."""
    yield [raw]
    for offset in range(1, len(raw)):
        yield [raw[:offset], raw[offset:]]
    yield [raw[index : index + 1] for index in range(len(raw))]


def read(pieces: list[bytes], *, head_request: bool = False, eof: bool = False) -> Outcome:
    """Feed the pieces to a fresh reader (then EOF if asked) and collect the result."""
    reader = ResponseReader(head_request=head_request)
    body = b"".join(reader.feed(piece) for piece in pieces)
    if eof:
        body += reader.feed_eof()
    return Outcome(reader.head, body, reader.done, reader.keep_alive, reader.trailing)


def decode(raw: bytes, *, head_request: bool = False, eof: bool = False) -> Outcome:
    """Decode `raw` under every split and check they all agree; return the outcome."""
    whole = read([raw], head_request=head_request, eof=eof)
    for pieces in splits(raw):
        assert read(pieces, head_request=head_request, eof=eof) == whole, pieces
    return whole


def reject(
    raw: bytes, error: type[Http1Error], match: str, *, eof: bool = False, same_message: bool = True
) -> str:
    """Check every split of `raw` raises `error`, each message matching `match`.

    The messages must be identical unless `same_message` is false (an early rejection
    quotes the bytes received so far, which depend on the split). Returns one message.
    """
    messages = set()
    for pieces in splits(raw):
        with pytest.raises(error, match=match) as raised:
            read(pieces, eof=eof)
        messages.add(str(raised.value))
    assert len(messages) == 1 or not same_message, messages
    return messages.pop()


def head(status: int = 200, reason: str = "OK", **headers: str) -> ResponseHead:
    """The head expected for `headers` given as lower-case names with _ for -."""
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    return ResponseHead(status, reason, "1.1", fields)


# --- request heads -----------------------------------------------------------------


def test_request_head_layout() -> None:
    """Host comes first, the given headers keep their order, Content-Length comes last."""
    raw = build_request_head(
        "POST", "/v1/chat/completions", "gw:8080", [("Accept", "*/*"), ("X-Id", "a b")], 17
    )
    assert raw == (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw:8080\r\nAccept: */*\r\n"
        b"X-Id: a b\r\nContent-Length: 17\r\n\r\n"
    )


def test_request_head_is_a_valid_request_for_h11() -> None:
    """A server-side h11 parses our head and body as one complete request."""
    raw = build_request_head("POST", "/v1", "gw", [("Content-Type", "application/json")], 2)
    server = h11.Connection(h11.SERVER)
    server.receive_data(raw + b"{}")
    request = server.next_event()
    assert isinstance(request, h11.Request)
    assert (request.method, request.target) == (b"POST", b"/v1")
    assert dict(request.headers)[b"content-length"] == b"2"
    assert isinstance(server.next_event(), h11.Data)
    assert isinstance(server.next_event(), h11.EndOfMessage)


def test_request_head_values_are_utf8() -> None:
    """Non-ASCII header values are sent as UTF-8."""
    raw = build_request_head("GET", "/", "gw", [("X-Name", "Zoë")], 0)
    assert b"X-Name: Zo\xc3\xab\r\n" in raw


@pytest.mark.parametrize("bad", ["\r", "\n", "\x00", "\r\nX-Injected: 1"])
def test_request_head_refuses_line_breaks_in_values(bad: str) -> None:
    """CR, LF or NUL in a header value raise ValueError naming the header, not the value."""
    with pytest.raises(ValueError, match="'Authorization' contains CR, LF or NUL") as raised:
        build_request_head("GET", "/", "gw", [("Authorization", f"Bearer sk{bad}")], 0)
    assert "Bearer" not in str(raised.value)


@pytest.mark.parametrize("name", ["X-A\r\nX-B", "X-A\n", "X\x00"])
def test_request_head_refuses_line_breaks_in_names(name: str) -> None:
    """CR, LF or NUL in a header name raise ValueError naming the header."""
    with pytest.raises(ValueError, match=re.escape(f"header name {name!r} contains CR, LF")):
        build_request_head("GET", "/", "gw", [(name, "1")], 0)


@pytest.mark.parametrize("name", ["", "X A", "X:A", "Zoë"])
def test_request_head_refuses_names_that_are_not_tokens(name: str) -> None:
    """Header names must be RFC 9110 tokens."""
    with pytest.raises(ValueError, match="is not an HTTP token"):
        build_request_head("GET", "/", "gw", [(name, "1")], 0)


@pytest.mark.parametrize("name", ["Host", "content-length", "Transfer-Encoding"])
def test_request_head_refuses_framing_headers(name: str) -> None:
    """Host, Content-Length and Transfer-Encoding are written by the function only."""
    with pytest.raises(ValueError, match="written by build_request_head"):
        build_request_head("GET", "/", "gw", [(name, "1")], 0)


@pytest.mark.parametrize(
    ("method", "target", "host", "length", "match"),
    [
        ("GE T", "/", "gw", 0, "method"),
        ("GET", "/a b", "gw", 0, "request target"),
        ("GET", "/\r\nX: 1", "gw", 0, "request target"),
        ("GET", "", "gw", 0, "request target"),
        ("GET", "/", "", 0, "host"),
        ("GET", "/", "gw\n", 0, "host"),
        ("GET", "/", "gw", -1, "content_length"),
    ],
)
def test_request_head_refuses_a_bad_request_line(
    method: str, target: str, host: str, length: int, match: str
) -> None:
    """Method, target and host cannot carry spaces or line breaks; lengths are >= 0."""
    with pytest.raises(ValueError, match=match):
        build_request_head(method, target, host, [], length)


# --- framing -------------------------------------------------------------------------


def test_content_length_body() -> None:
    """A Content-Length body ends after that many bytes; the connection stays reusable."""
    outcome = decode(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert outcome == Outcome(
        head(content_type="text/plain", content_length="5"), b"hello", True, True, b""
    )


def test_content_length_zero() -> None:
    """Content-Length: 0 completes the response with the head."""
    outcome = decode(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"", True, True)


@pytest.mark.parametrize(
    "fields",
    [b"Content-Length: 3, 3", b"Content-Length: 3\r\ncontent-length: 3", b"Content-Length: 003"],
)
def test_content_length_repeats_of_one_value(fields: bytes) -> None:
    """Several identical Content-Length values are one length (RFC 9110 §8.6)."""
    outcome = decode(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n\r\nabc")
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"abc", True, True)


def test_body_bytes_come_out_as_they_arrive() -> None:
    """feed() returns body bytes at once, without waiting for the end of a body or chunk."""
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab") == b"ab"
    assert reader.feed(b"cd") == b"cd"
    chunked = ResponseReader()
    assert chunked.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nab") == b"ab"
    assert chunked.feed(b"cd") == b"cd"
    assert not chunked.done


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1a;foo=bar\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    b'A; name="quoted;value"\r\n0123456789\r\n'
    b"c\r\n" + b"\r\n" * 6 + b"\r\n"  # data that looks like line ends
    b"0;last\r\nX-Trailer: 1\r\nServer-Timing: db;dur=53\r\n\r\n"
)


def test_chunked_body_with_extensions_hex_case_and_trailers() -> None:
    """Chunk extensions are ignored, hex may be either case, trailers are consumed."""
    outcome = decode(CHUNKED)
    expected_body = b"abcdefghijklmnopqrstuvwxyz0123456789" + b"\r\n" * 6
    assert outcome == Outcome(head(transfer_encoding="chunked"), expected_body, True, True, b"")


@pytest.mark.parametrize("sizes", [[1], [255, 256, 4096], [70_000], [16, 1, 300, 2]])
def test_one_chunk_per_feed(sizes: list[int]) -> None:
    """Each feed holding exactly one whole chunk (the streaming fast path) returns its data."""
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == b""
    for index, size in enumerate(sizes):
        data = (b"\r\n0\r\n\r\n%d" % index * size)[:size]  # looks like framing on purpose
        assert reader.feed(b"%x\r\n%s\r\n" % (size, data)) == data
    assert reader.feed(b"0\r\n\r\n") == b""
    assert (reader.done, reader.keep_alive, reader.trailing) == (True, True, b"")


def test_chunked_without_trailers() -> None:
    """The last chunk followed by an empty line ends the body."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert decode(raw).body == b"abc"


def test_chunked_beats_content_length_and_forbids_reuse() -> None:
    """Transfer-Encoding with Content-Length: chunked wins, the connection is not reused."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
    outcome = decode(raw + b"2\r\nok\r\n0\r\n\r\n")
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"ok", True, False)


def test_no_length_reads_until_close() -> None:
    """Without Content-Length or chunked, the body ends at EOF and forbids reuse."""
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\n\r\nsome") == b"some"
    assert not reader.done
    outcome = decode(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body", eof=True)
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"some body", True, False)


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n",
    ],
)
def test_interim_responses_are_skipped(interim: bytes) -> None:
    """1xx heads are skipped with their headers; the final head and body follow."""
    raw = interim + b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    assert decode(raw) == Outcome(head(201, "Created", content_length="2"), b"ok", True, True, b"")


@pytest.mark.parametrize(
    "interim",
    [
        b"",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n",
    ],
)
def test_head_began_marks_the_read_carrying_the_final_heads_first_byte(interim: bytes) -> None:
    """However the bytes are split, the last feed that set `head_began` before
    the final head was in is the one holding the final status line's first
    byte (where TTFB is stamped), never one holding only 1xx bytes."""
    raw = interim + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for pieces in splits(raw):
        reader = ResponseReader()
        began_at = None
        for index, piece in enumerate(pieces):
            if reader.head is None:
                reader.feed(piece)
                if reader.head_began:
                    began_at = index
        ends = [sum(map(len, pieces[: i + 1])) for i in range(len(pieces))]
        expected = next(i for i, end in enumerate(ends) if end > len(interim))
        assert began_at == expected, pieces


def test_head_is_none_until_the_final_head() -> None:
    """`head` stays None through 1xx heads and is set as soon as the final head is in."""
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert reader.head is None
    reader.feed(b"Content-Length: 9\r\n\r\n")
    assert reader.head == head(content_length="9")
    assert not reader.done


@pytest.mark.parametrize("framing", [b"Content-Length: 5", b"Transfer-Encoding: chunked", b"X: 1"])
def test_head_request_responses_have_no_body(framing: bytes) -> None:
    """A response to HEAD ends with its head, whatever its framing headers say."""
    outcome = decode(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n", head_request=True)
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"", True, True)


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body(status: int) -> None:
    """204 and 304 end with their head, even with a Content-Length."""
    outcome = decode(b"HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\n" % status)
    assert (outcome.head and outcome.head.status, outcome.body, outcome.done) == (status, b"", True)
    assert outcome.keep_alive


@pytest.mark.parametrize(
    ("status_line", "reason"),
    [
        (b"HTTP/1.1 200 OK", "OK"),
        (b"HTTP/1.1 200 ", ""),
        (b"HTTP/1.1 200", ""),
        (b"HTTP/1.1 404 Not  Found\t!", "Not  Found\t!"),
        (b"HTTP/1.1 200 \xc7a va", "\xc7a va"),
    ],
)
def test_status_line_reasons(status_line: bytes, reason: str) -> None:
    """The reason may be missing or empty; it keeps its spaces; bytes decode as Latin-1."""
    outcome = decode(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    assert outcome.head is not None
    assert outcome.head.reason == reason


def test_bare_lf_line_endings() -> None:
    """A bare LF ends head lines, trailer lines, chunk size lines and chunk data."""
    raw = (
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\r\nX-A: 1\n\n"
        b"3\nabc\n2;x=y\r\nde\r\n0\nT: 1\n\n"
    )
    outcome = decode(raw)
    assert outcome == Outcome(head(transfer_encoding="chunked", x_a="1"), b"abcde", True, True, b"")


def test_header_names_values_and_repeats() -> None:
    """Names are lower-cased, values lose surrounding OWS, repeats join with ", "."""
    raw = (
        b"HTTP/1.1 200 OK\r\nX-Multi: a\r\nContent-Length: 0\r\nx-MULTI:b  \r\n"
        b"X-Space:  \t inner  space\t \r\nX-Empty:\r\nX-Obs: caf\xe9 \x01\r\n\r\n"
    )
    assert decode(raw).head == head(
        x_multi="a, b", content_length="0", x_space="inner  space", x_empty="", x_obs="café \x01"
    )


def test_obsolete_line_folding_joins_with_one_space() -> None:
    """An obs-fold continuation line is appended to the previous value after one space."""
    raw = b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nContent-Length: 0\r\n\r\n"
    assert decode(raw).head == head(x_fold="a b c", content_length="0")


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        (b"1.1", b"", True),
        (b"1.1", b"Connection: close\r\n", False),
        (b"1.1", b"Connection: Keep-Alive, CLOSE\r\n", False),
        (b"1.1", b"Connection: upgrade\r\n", True),
        (b"1.0", b"", False),
        (b"1.0", b"Connection: keep-alive\r\n", True),
        (b"1.0", b"Connection: te, Keep-Alive\r\n", True),
    ],
)
def test_keep_alive_from_version_and_connection(
    version: bytes, connection: bytes, keep_alive: bool
) -> None:
    """Connection: close forbids reuse; HTTP/1.0 allows it only with keep-alive."""
    raw = b"HTTP/" + version + b" 200 OK\r\n" + connection + b"Content-Length: 1\r\n\r\nx"
    outcome = decode(raw)
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"x", True, keep_alive)


def test_chunked_in_http10_forbids_reuse() -> None:
    """Transfer-Encoding in an HTTP/1.0 response is decoded, then the connection closed."""
    raw = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
    outcome = decode(raw + b"1\r\nx\r\n0\r\n\r\n")
    assert (outcome.body, outcome.done, outcome.keep_alive) == (b"x", True, False)


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
)
def test_bytes_after_the_response_are_kept_and_forbid_reuse(response: bytes) -> None:
    """Bytes after a complete response land in `trailing` and the connection is not reused."""
    outcome = decode(response + b"HTTP/1.1 200 OK\r\n")
    assert outcome.trailing == b"HTTP/1.1 200 OK\r\n"
    assert (outcome.done, outcome.keep_alive) == (True, False)


def test_chunk_size_line_with_whitespace_before_extension() -> None:
    """Spaces or tabs after the chunk size (before `;` or the line end) are allowed."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw += b"2 ;a=b\r\nok\r\n1\t\r\n!\r\n0 \r\n\r\n"
    assert decode(raw).body == b"ok!"


def test_feed_empty_bytes_does_nothing() -> None:
    """feed(b"") is not end of stream: it returns b"" and changes nothing."""
    reader = ResponseReader()
    assert reader.feed(b"") == b""
    assert reader.feed(b"HTTP/1.1 200 OK\r\n\r\nab") == b"ab"
    assert reader.feed(b"") == b""
    assert not reader.done


def test_eof_after_a_complete_response() -> None:
    """feed_eof() after the body returns b"" and marks the connection not reusable."""
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert (reader.feed_eof(), reader.done, reader.keep_alive) == (b"", True, False)


# --- errors --------------------------------------------------------------------------


def test_error_tree() -> None:
    """Both error kinds derive from the module's base error, itself an Exception."""
    assert issubclass(MalformedResponse, Http1Error)
    assert issubclass(IncompleteResponse, Http1Error)
    assert issubclass(Http1Error, Exception)


@pytest.mark.parametrize(
    "fields",
    [b"Content-Length: 3, 4", b"Content-Length: 3\r\nContent-Length: 4", b"Content-Length: 3, 03"],
)
def test_conflicting_content_lengths(fields: bytes) -> None:
    """Differing Content-Length values are refused."""
    reject(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n\r\nabc", MalformedResponse, "conflicting")


@pytest.mark.parametrize("value", [b"abc", b"-1", b"+3", b"3 3", b"", b"0x3", b"\xb2", b"1" * 21])
def test_content_length_must_be_decimal(value: bytes) -> None:
    """Content-Length must be 1 to 20 ASCII digits."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nabc"
    reject(raw, MalformedResponse, "is not a decimal byte count")


@pytest.mark.parametrize(
    "fields",
    [
        b"Transfer-Encoding: gzip",
        b"Transfer-Encoding: gzip, chunked",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    ],
)
def test_transfer_codings_other_than_chunked(fields: bytes) -> None:
    """Only the single transfer coding `chunked` is supported."""
    raw = b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n\r\n"
    reject(raw, MalformedResponse, "is not supported, only 'chunked'")


def test_chunk_size_that_is_not_hex_says_where() -> None:
    """A bad chunk size line names the line and its offset in the body."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"
    message = reject(raw, MalformedResponse, "not hex")
    assert message == "chunk size line 'zz' is not hex (at body byte 8)"


@pytest.mark.parametrize("size", [b"0x3", b"+3", b"-3", b"1_0", b" 3", b"", b";ext", b"3\r3"])
def test_chunk_sizes_int_would_take(size: bytes) -> None:
    """Forms Python's int(x, 16) accepts, but HTTP does not, are refused."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n"
    reject(raw, MalformedResponse, "is not hex")


@pytest.mark.parametrize("after_data", [b"X\r\n", b"\rX", b"  \r\n"])
def test_chunk_data_must_end_with_a_line_end(after_data: bytes) -> None:
    """Chunk data is followed by CRLF (or LF); anything else is a framing error."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc" + after_data
    reject(raw, MalformedResponse, r"expected CRLF after chunk data, .* \(at body byte 6\)")


def test_head_over_the_limit() -> None:
    """A head over 64 KiB is refused, with or without its blank line yet."""
    filler = b"X-Fill: " + b"a" * 1000 + b"\r\n"
    raw = b"HTTP/1.1 200 OK\r\n" + filler * (MAX_HEAD_BYTES // len(filler) + 1)
    for pieces in ([raw], [raw + b"\r\n"], [raw[:100], raw[100:]]):
        with pytest.raises(MalformedResponse, match="response head is over 65536 bytes"):
            read(pieces)


def test_chunk_size_line_over_the_limit() -> None:
    """A chunk size line over 4 KiB is refused, with or without its LF yet."""
    head_bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    line = b"1;" + b"e" * MAX_CHUNK_LINE_BYTES
    for pieces in (
        [head_bytes + line],
        [head_bytes, line + b"\r\n"],
        [head_bytes, line[:9], line[9:]],
    ):
        with pytest.raises(MalformedResponse, match="chunk size line is over 4096 bytes"):
            read(pieces)


def test_trailers_over_the_limit() -> None:
    """A trailer section over 64 KiB is refused."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    trailer = b"X-T: " + b"t" * 1000 + b"\r\n"
    with pytest.raises(MalformedResponse, match="trailer section is over"):
        read([raw, trailer * (MAX_HEAD_BYTES // len(trailer) + 1)])


@pytest.mark.parametrize(
    "start",
    [b"\x16\x03\x01\x02\x00", b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTX"],
)
def test_not_http_is_refused_early(start: bytes) -> None:
    """Bytes that cannot start a status line are refused before a whole head arrives."""
    with pytest.raises(MalformedResponse, match=re.escape("expected a status line 'HTTP/1.1 …'")):
        ResponseReader().feed(start)


@pytest.mark.parametrize(
    ("status_line", "match"),
    [
        (b"HTTP/1.1 20 OK", "expected a status line like"),
        (b"HTTP/1.1 2000 OK", "expected a status line like"),
        (b"HTTP/1.1  200 OK", "expected a status line like"),
        (b"HTTP/1.1 200OK", "expected a status line like"),
        (b"HTTP/11 200 OK", "expected a status line like"),
        (b"HTTP/2.0 200 OK", "expected HTTP/1.x, got HTTP/2.0"),
        (b"HTTP/1.1 099 Low", "status 099 is below 100"),
        (b"HTTP/1.1 101 Switching Protocols", "no upgrade was asked for"),
    ],
)
def test_bad_status_lines(status_line: bytes, match: str) -> None:
    """Status lines must be `HTTP/1.x`, one space, three digits >= 100, optional reason."""
    reject(status_line + b"\r\nContent-Length: 0\r\n\r\n", MalformedResponse, match)


def test_empty_line_before_the_status_line() -> None:
    """A client does not skip empty lines before a status line (h11 does not either)."""
    raw = b"\r\nHTTP/1.1 200 OK\r\n\r\n"
    reject(raw, MalformedResponse, "expected a status line", same_message=False)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (b"X-A 1", "header line 1 is not 'name: value', got 'X-A 1'"),
        (b"X-A: 1\r\nX-B : 2", "header line 2 is not 'name: value'"),
        (b": 1", "header line 1 is not"),
        (b"X(A): 1", "header line 1 is not"),
        (b" X-A: 1", "header section starts with a continuation line"),
        (b"X-A: 1\x002", "NUL byte in the response head at offset 23"),
        (b"X-A: 1\r2", "CR not followed by LF in the response head at offset 23"),
        (b"X-A: \x0b", "VT byte"),
        (b"X-A: \x0c", "FF byte"),
    ],
)
def test_bad_header_lines(fields: bytes, match: str) -> None:
    """Header lines are `token:value`; NUL, VT, FF and bare CR are refused in a head."""
    reject(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n\r\n", MalformedResponse, match)


def test_bad_trailer_lines() -> None:
    """Trailer lines are checked like header lines, then dropped."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n"
    reject(raw, MalformedResponse, "trailer line 1 is not 'name: value'")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "connection closed before any response byte arrived"),
        (b"HTTP/1.1 200 OK\r\n", "connection closed in the response head after 17 bytes"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", "connection closed in the response head after 0 bytes"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            "connection closed in the body after 3 of 10 bytes",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "connection closed in the chunked body",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n",
            "connection closed in the chunked body",
        ),
    ],
)
def test_eof_in_the_middle(raw: bytes, match: str) -> None:
    """EOF before the response is complete raises IncompleteResponse saying where."""
    if raw:
        reject(raw, IncompleteResponse, match, eof=True)
    else:
        with pytest.raises(IncompleteResponse, match=match):
            read([], eof=True)


def test_a_failed_reader_stays_failed() -> None:
    """After an error, keep_alive is false and every later call raises the same error."""
    reader = ResponseReader()
    with pytest.raises(MalformedResponse) as first:
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
    assert not reader.keep_alive
    with pytest.raises(MalformedResponse) as again:
        reader.feed(b"more")
    assert again.value is first.value
    with pytest.raises(MalformedResponse) as at_eof:
        reader.feed_eof()
    assert at_eof.value is first.value
