"""Memory is bounded per run, whatever the responses: the real CLI, 32 VUs,
against a 127.0.0.1 server that answers every request with a 200 MB JSON
body or an endless event stream, generated on the fly. Every turn fails as
`response_too_large` at `http.max_response_bytes`, and the generator's peak
RSS stays under a bound (docs/metrics.md, "Memory per turn")."""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.errors import EXIT_NO_SUCCESS

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

MAX_RESPONSE_BYTES = 1024 * 1024
VUS = 32
#: The generator's own baseline (measured ~60 MB) plus, per VU, twice the
#: cap (a body held while it is read, plus slack), with a wide margin.
PEAK_RSS_BOUND_MB = 100 + VUS * 2 * MAX_RESPONSE_BYTES // 2**20

_BIG_BODY_BYTES = 200 * 1000 * 1000
_JSON_BLOCK = b'{"pad": "' + b"x" * 65000 + b'"}, '
_EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": " word"}}]}\n\n'
_SSE_BLOCK = _EVENT * (65000 // len(_EVENT))
_SSE_CHUNK = f"{len(_SSE_BLOCK):x}\r\n".encode() + _SSE_BLOCK + b"\r\n"

# The wrapper prints the generator's own peak RSS (KiB) as its last stderr
# line: VmHWM, the peak of this process's memory since its exec. Not
# `ru_maxrss`: Linux carries it over from the forking process across exec, so
# it reads the test runner's own size once that is the larger.
_WRAPPER = """
import sys
from loadtest.cli import main
try:
    main()
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("maxrss_kib", peak, file=sys.stderr)
"""


class _Handler(socketserver.BaseRequestHandler):
    """Reads one request; answers with a huge body or an endless stream until
    the client closes the connection."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            received = sock.recv(65536)
            if not received:
                return
            data += received
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += sock.recv(65536)
        try:
            if b'"stream":true' in body.replace(b" ", b""):
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                while True:
                    sock.sendall(_SSE_CHUNK)
            sock.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {_BIG_BODY_BYTES}\r\n\r\n".encode()
            )
            sent = 0
            while sent < _BIG_BODY_BYTES:
                block = _JSON_BLOCK[: _BIG_BODY_BYTES - sent]
                sock.sendall(block)
                sent += len(block)
        except OSError:
            return  # the client closed the connection: expected


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def flood_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_huge_bodies_and_endless_streams_leave_memory_bounded(
    tmp_path: Path, flood_url: str
) -> None:
    profile: dict[str, Any] = {
        "name": "memory",
        "stages": [f"{VUS}:3s"],
        "warmup": "0s",
        "graceful_stop": "1s",
        "http": {"max_response_bytes": MAX_RESPONSE_BYTES},
        "defaults": {"target": flood_url, "model": "m", "max_tokens": 16},
        "scenarios": [
            {"name": "body", "stream": False, "content": {"mode": "pool", "prompts": ["hi"]}},
            {"name": "stream", "stream": True, "content": {"mode": "pool", "prompts": ["hi"]}},
        ],
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    out = tmp_path / "out"
    done = subprocess.run(
        # --no-preflight: the pre-flight would stop at the first oversized answer.
        [
            sys.executable,
            "-c",
            _WRAPPER,
            "run",
            str(path),
            "--out",
            str(out),
            "-q",
            "--no-preflight",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_NO_SUCCESS, done.stderr  # every turn failed, as it must
    peak_kib = int(done.stderr.strip().splitlines()[-1].split()[-1])
    (summary_path,) = out.glob("summary-*.json")
    stage = json.loads(summary_path.read_text())["stages"][0]
    for scenario in stage["scenarios"]:
        assert scenario["requests"] > 0
        assert set(scenario["errors"]) == {"response_too_large"}, scenario["errors"]
    assert peak_kib / 1024 < PEAK_RSS_BOUND_MB
