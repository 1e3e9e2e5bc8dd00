"""The live metrics endpoint on real sockets (127.0.0.1): `loadtest run
--mock --metrics-port 0` scraped during the run, and the endpoint's HTTP
behaviour served from a test's own nursery."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import types
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

import loadtest
from loadtest.config import structure_profile
from loadtest.engine import _metrics_endpoint, listen_metrics, serve_metrics
from loadtest.errors import ConfigError
from loadtest.report import run_stamp
from tests.e2e.helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from loadtest.metrics import StageSnapshot

pytestmark = pytest.mark.e2e

LAUNCH = [sys.executable, "-c", "from loadtest.cli import main; main()"]
PROFILE: dict[str, Any] = {
    "name": "live",
    "stages": ["3:60s"],
    "warmup": "0s",
    "defaults": {"model": "mock-model", "max_tokens": 8, "stream": True},
    "scenarios": [
        {"name": "a", "protocol": "openai-chat", "content": {"mode": "pool", "prompts": ["hi"]}}
    ],
}


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def scrape(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def requests_total(found: dict[str, Any]) -> float:
    family = found.get("loadtest_requests")
    if family is None:
        return 0.0
    (sample,) = [s for s in family.samples if s.labels["scenario"] == "total"]
    assert sample.name == "loadtest_requests_total"
    return float(sample.value)


def run_command(tmp_path: Path, *args: str) -> list[str]:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(PROFILE))
    out = tmp_path / "o"
    return [*LAUNCH, "run", str(profile), "--mock", "--out", str(out), "-q", *args]


def test_a_run_serves_growing_counters_and_stops_serving_on_ctrl_c(
    started: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Scraped twice while the mock answers: parsed by prometheus_client,
    requests_total grows, in flight and the current stage are gauges, TTFT a
    summary; Ctrl-C ends the run (exit 130, outputs written) and the port
    with it. Every family the live endpoint shares with the file has the
    file's type."""
    stderr_path = tmp_path / "stderr"
    command = run_command(tmp_path, "--metrics-port", "0", "--mock-args", "--ttft 5ms --itl 1ms")
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    started.append(process)
    found_url: list[str] = []

    def announced() -> bool:
        assert process.poll() is None, stderr_path.read_text()
        found_url.extend(re.findall(r"metrics: (http://\S+)", stderr_path.read_text()))
        return bool(found_url)

    wait_for(announced, "the metrics URL on stderr")
    url = found_url[0]
    assert url.startswith("http://127.0.0.1:")
    scrapes: list[dict[str, Any]] = []

    def requests_above(floor: float) -> bool:
        scrapes.append(scrape(url))
        return requests_total(scrapes[-1]) > floor

    wait_for(lambda: requests_above(0), "a completed request")
    first = requests_total(scrapes[-1])
    wait_for(lambda: requests_above(first), "more completed requests")
    last = scrapes[-1]
    types = {name: family.type for name, family in last.items()}
    assert types["loadtest_requests"] == "counter"
    assert types["loadtest_in_flight"] == types["loadtest_current_stage"] == "gauge"
    assert types["loadtest_ttft_seconds"] == "summary"
    (current,) = last["loadtest_current_stage"].samples
    assert current.value == 1
    assert set(current.labels) == {"run", "profile"}
    assert current.labels["profile"] == "live"

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert "Traceback" not in stderr_path.read_text()
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(url, timeout=10)
    (prom,) = (tmp_path / "o").glob("metrics-*.prom")
    in_file = {f.name: f.type for f in text_string_to_metric_families(prom.read_text())}
    live_only = {"loadtest_in_flight", "loadtest_current_stage", "loadtest_stage_elapsed_seconds"}
    assert {name: t for name, t in types.items() if name not in live_only} == {
        name: in_file[name] for name in types if name not in live_only
    }
    file_runs = {
        s.labels["run"] for f in text_string_to_metric_families(prom.read_text()) for s in f.samples
    }
    assert file_runs == {current.labels["run"]}


def test_a_port_in_use_is_a_bad_flag_before_anything_starts(tmp_path: Path) -> None:
    """Exit 2, one line naming the flag, the address and the reason; the
    mock never started; --metrics-host alone is refused too."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run(
            run_command(tmp_path, "--metrics-port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"loadtest: error: --metrics-port: cannot listen on 127.0.0.1 port {port}: "
        "Address already in use"
    ]
    alone = subprocess.run(
        run_command(tmp_path, "--metrics-host", "0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert alone.returncode == 2
    assert "--metrics-host: only used with --metrics-port" in alone.stderr


# --- the endpoint served from a nursery ----------------------------------------------


class _IdleEngine:
    """What `serve_metrics` reads of an engine: here started, between stages."""

    plan = types.SimpleNamespace(name="plan")
    started_unix_s = 1_764_294_000.0
    live = None

    def on_stage_end(self, callback: Callable[[StageSnapshot], None]) -> None:
        del callback


async def _exchange(port: int, request: bytes) -> bytes:
    """Send `request` on a fresh connection; everything until the server closes."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(request)
        received = b""
        while chunk := await stream.receive_some(65536):
            received += chunk
    return received


async def test_the_endpoint_answers_metrics_only_and_keeps_connections(
    nursery: trio.Nursery,
) -> None:
    """GET and HEAD /metrics (query ignored) on one kept-alive connection;
    404 elsewhere, 405 for POST; a malformed request closes its connection
    only; the task's `started` value is the bound port."""
    engine: Any = _IdleEngine()
    port = await nursery.start(serve_metrics, engine, 0)
    both = (
        b"GET /metrics?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    answer = await _exchange(port, both)
    get, head = answer.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b"content-type: text/plain; version=0.0.4; charset=utf-8" in get.lower()
    body = get.split(b"\r\n\r\n", 1)[1].decode()
    stamp = run_stamp({"started_unix_s": engine.started_unix_s})
    assert body.splitlines()[1:] == [
        "# TYPE loadtest_current_stage gauge",
        f'loadtest_current_stage{{run="{stamp}",profile="plan"}} 0',
    ]
    assert head.endswith(b"\r\n\r\n")
    assert f"content-length: {len(body)}".encode() in head.lower()
    missing = await _exchange(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404 Not Found\r\n")
    post = b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    refused = await _exchange(port, post)
    assert refused.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert b"allow: get, head" in refused.lower()
    assert await _exchange(port, b"NOT HTTP\r\n\r\n") == b""
    again = await _exchange(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert again.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_an_idle_client_is_dropped(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that sends nothing is closed after CLIENT_TIMEOUT_S."""
    monkeypatch.setattr(_metrics_endpoint, "CLIENT_TIMEOUT_S", 0.05)
    engine: Any = _IdleEngine()
    port = await nursery.start(serve_metrics, engine, 0)
    assert await _exchange(port, b"") == b""


def test_listening_on_a_bad_address_is_one_line() -> None:
    """A port in use and an unknown host are ConfigErrors naming the address."""
    with listen_metrics(0) as sock:
        port = sock.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"^cannot listen on 127\.0\.0\.1 port {port}: "):
            listen_metrics(port)
    with pytest.raises(ConfigError, match=r"^cannot listen on no-such-host\.invalid port 0: "):
        listen_metrics(0, "no-such-host.invalid")


async def test_the_library_doc_block_serves_a_run() -> None:
    """docs/library.md's block, run against the in-process mock: it returns
    the bound port, and the run ends with the endpoint closed."""
    doc = (Path(__file__).parents[2] / "docs" / "library.md").read_text()
    first = "async with trio.open_nursery() as nursery, loadtest.open_engine(plan) as engine:"
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", doc, re.DOTALL) if b.startswith(first)
    ]
    source = (
        "async def served(plan):\n" + textwrap.indent(block, "    ") + "    return port, result\n"
    )
    namespace: dict[str, Any] = {"trio": trio, "loadtest": loadtest}
    exec(source, namespace)
    async with loadtest.open_mock(loadtest.MockConfig(port=0, ttft="5ms", itl="1ms")) as upstream:
        overrides = loadtest.Overrides(target=f"{upstream.url}/v1", stages="2:1s", warmup="0s")
        plan = loadtest.resolve(structure_profile(PROFILE), overrides, env={})
        port, result = await namespace["served"](plan)
    assert port > 0
    assert result.stages[0].total.ok > 0
    with pytest.raises(OSError, match="failed"):  # refused: nothing listens any more
        await trio.open_tcp_stream("127.0.0.1", port)
