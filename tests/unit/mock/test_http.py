"""The hand-written HTTP/1.1 layer: request heads, bodies at every split, framing."""

from __future__ import annotations

import pytest
import trio

from loadtest.mock._http import (
    HttpError,
    RequestHead,
    ServerConnection,
    chunk,
    parse_head,
    response,
    stream_head,
)
from loadtest.mock._reply import Outbox

BODY = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
POST = (
    b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
    b"X-Request-Id: abc-1\r\n\r\n%s" % (len(BODY), BODY)
)
CHUNKED = (
    b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\n" + BODY[:5] + b"\r\n" + b"%x\r\n" % (len(BODY) - 5) + BODY[5:] + b"\r\n"
    b"0\r\nTrailer: yes\r\n\r\n"
)


class FakeSocket:
    """Hands out the scripted pieces one `recv` at a time; records sends."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.sent: list[bytes] = []

    async def recv(self, size: int) -> bytes:
        await trio.lowlevel.checkpoint()
        return self.pieces.pop(0) if self.pieces else b""

    async def send(self, data: bytes | memoryview) -> int:
        await trio.lowlevel.checkpoint()
        self.sent.append(bytes(data[:7]))  # a short write: exercises the resend loop
        return min(7, len(data))


async def _read_all(data: bytes, cut: int) -> list[tuple[RequestHead, bytes]]:
    pieces = [piece for piece in (data[:cut], data[cut:]) if piece]  # b"" would mean EOF
    conn = ServerConnection(FakeSocket(pieces))  # type: ignore[arg-type]
    requests = []
    while (request := await conn.read_request(b"x-request-id")) is not None:
        requests.append(request)
    return requests


async def test_requests_parse_the_same_at_every_split() -> None:
    """Two pipelined requests (Content-Length, then chunked) read identically
    however the bytes are split between two receives."""
    data = POST + CHUNKED
    expected = await _read_all(data, 0)
    assert [(head.path, body) for head, body in expected] == [
        ("/v1/chat/completions", BODY),
        ("/v1/messages", BODY),
    ]
    assert expected[0][0].echo == b"abc-1"
    for cut in range(1, len(data)):
        assert await _read_all(data, cut) == expected


async def test_expect_continue_is_answered_before_the_body() -> None:
    """`Expect: 100-continue` gets an interim 100 when the body has not arrived."""
    head = b"POST /v1/messages HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    sock = FakeSocket([head, b"{}"])
    request = await ServerConnection(sock).read_request(b"")  # type: ignore[arg-type]
    assert request is not None
    assert request[1] == b"{}"
    assert b"".join(sock.sent) == b"HTTP/1.1 100 Continue\r\n\r\n"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd", 400),
        (b"POST /x HTTP/1.1\r\nHost: a", 400),
        (b"GET /x HTTP/1.1\r\n" + b"a" * 70_000, 431),
    ],
)
async def test_broken_requests_raise_http_errors(data: bytes, status: int) -> None:
    """Truncated bodies, bad chunk framing and oversized heads are HttpErrors."""
    with pytest.raises(HttpError) as info:
        await ServerConnection(FakeSocket([data])).read_request(b"")  # type: ignore[arg-type]
    assert info.value.status == status


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET / HTTP/1.1", True),
        (b"GET / HTTP/1.1\r\nConnection: close", False),
        (b"GET / HTTP/1.0", False),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive", True),
    ],
)
def test_keep_alive_rules(head: bytes, keep_alive: bool) -> None:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only on request."""
    assert parse_head(head).keep_alive is keep_alive


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /", 400),
        (b"GET / HTTP/2.0", 505),
        (b"G@T / HTTP/1.1", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -1", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip", 501),
        (b"POST / HTTP/1.1\r\nBad Header : x", 400),
        (b"POST / HTTP/1.1\r\n folded", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999", 413),
    ],
)
def test_malformed_heads(head: bytes, status: int) -> None:
    """Each malformed head maps to its status (smuggling-prone framing is refused)."""
    with pytest.raises(HttpError) as info:
        parse_head(head)
    assert info.value.status == status


def test_echo_header_is_matched_case_insensitively() -> None:
    """The correlation header is found whatever its case; the query is dropped."""
    head = parse_head(b"POST /v1/x?a=b HTTP/1.1\r\nX-Corr: v 1", b"x-corr")
    assert (head.path, head.echo) == ("/v1/x", b"v 1")


def test_response_framing() -> None:
    """Whole answers carry Content-Length; streams are chunked, one chunk per piece."""
    assert response(404, b"{}", b"a: b\r\n") == (
        b"HTTP/1.1 404 Not Found\r\nserver: loadtest-mock\r\ncontent-type: application/json\r\n"
        b"content-length: 2\r\na: b\r\n\r\n{}"
    )
    assert b"transfer-encoding: chunked\r\n" in stream_head()
    assert b"transfer-encoding" not in stream_head(chunked=False)
    assert chunk(b"data: x\n\n") == b"9\r\ndata: x\n\n\r\n"


def test_outbox_frames_each_event_as_one_chunk() -> None:
    """Several SSE events handed over at once still become one HTTP chunk each."""
    out = Outbox(None, chunked=True)  # type: ignore[arg-type]
    out.events(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n")
    out.events(b"data: 3\n\n")
    out.events(b"")
    assert b"".join(out.parts) == (
        b"12\r\nevent: a\ndata: 1\n\n\r\n12\r\nevent: b\ndata: 2\n\n\r\n9\r\ndata: 3\n\n\r\n"
    )
    plain = Outbox(None, chunked=False)  # type: ignore[arg-type]
    plain.events(b"data: 3\n\n")
    assert plain.parts == [b"data: 3\n\n"]
