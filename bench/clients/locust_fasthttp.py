"""A Locust FastHttpUser chat-completions client: a reference for bench/real_pace.py.

Run headless by bench/real_pace.py in its own venv (bench/.venv-locust, made by
the script): `locust -f bench/clients/locust_fasthttp.py --headless -u N -r N
-t Ds --stop-timeout S --only-summary`. Each user sends the same prebuilt POST
(REQUEST.json from the environment variable BENCH_REQUEST, as for the other
clients) again and again, with no wait time; a streamed answer is read as it
arrives (`stream=True`, `iter_content`) and split into SSE events by
the same counter as the other minimal clients (`_shared.SSECounter`). On exit
it prints one JSON line: completed, errors, content_deltas.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import SSECounter, Tally
from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

_REQUEST: dict[str, Any] = json.loads(Path(os.environ["BENCH_REQUEST"]).read_text())
_URL = _REQUEST["url"]
_PATH = "/" + _URL.split("/", 3)[3]
_BODY = _REQUEST["body"].encode()
_HEADERS = dict(_REQUEST["headers"])
_TALLY = Tally()


class ChatUser(FastHttpUser):
    host = _URL.split("/", 3)[0] + "//" + _URL.split("/", 3)[2]
    wait_time = constant(0)
    connection_timeout = 60.0
    network_timeout = 60.0

    def _once(self) -> None:
        sse = SSECounter()
        with self.client.post(
            _PATH, data=_BODY, headers=_HEADERS, stream=True, catch_response=True
        ) as resp:
            for data in resp.iter_content(65536, decode_content=False):
                sse.feed(data)
            ok = resp.status_code == 200 and sse.done and sse.usage and sse.deltas > 0
            if ok:
                resp.success()
            else:
                resp.failure("bad stream")
        _TALLY.completed += 1
        _TALLY.errors += not ok
        _TALLY.content_deltas += sse.deltas

    @task
    def chat(self) -> None:
        self._once()


@events.quitting.add_listener
def _report(environment: Any, **_kw: Any) -> None:
    line = {
        "client": "locust",
        "completed": _TALLY.completed,
        "errors": _TALLY.errors,
        "content_deltas": _TALLY.content_deltas,
    }
    print(json.dumps(line), flush=True)
