"""CPU cost per request of the mock's HTTP layer: h11 against the hand-written reader.

    .venv/bin/python bench/mock_http_parse.py [REQUESTS]

Both sides do the same work for one keep-alive request: take the bytes of a
POST with a JSON body (as wrk sends it), find the head and body, then build
a 200 response with Content-Length and a ~600-byte JSON body. No sockets: the
figure is the parser's own cost, to set against the mock's whole per-request
budget (bench/README.md).
"""

from __future__ import annotations

import sys
import time

import h11

from loadtest.mock._http import parse_head, response

BODY = b'{"model":"m","messages":[{"role":"user","content":"Say something."}],"max_tokens":16}'
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b"Content-Type: application/json\r\nx-request-id: 42\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)
ANSWER = b"x" * 600


def with_h11(count: int) -> None:
    conn = h11.Connection(h11.SERVER)
    for _ in range(count):
        conn.receive_data(REQUEST)
        request = conn.next_event()
        assert isinstance(request, h11.Request)
        body = b""
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        headers = [("content-type", "application/json"), ("content-length", str(len(ANSWER)))]
        out = conn.send(h11.Response(status_code=200, headers=headers))
        out += conn.send(h11.Data(data=ANSWER)) + conn.send(h11.EndOfMessage())
        conn.start_next_cycle()


def hand_written(count: int) -> None:
    buf = bytearray()
    for _ in range(count):
        buf += REQUEST
        end = buf.find(b"\r\n\r\n")
        head = parse_head(bytes(buf[:end]), b"x-request-id")
        del buf[: end + 4]
        body = bytes(buf[: head.content_length])
        del buf[: head.content_length]
        assert body == BODY
        response(200, ANSWER, b"x-request-id: %s\r\n" % head.echo)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    for name, run in (("h11 0.16", with_h11), ("hand-written", hand_written)):
        start = time.process_time()
        run(count)
        per_request_us = (time.process_time() - start) / count * 1e6
        print(f"{name:14} {per_request_us:6.1f} µs CPU per request")


if __name__ == "__main__":
    main()
