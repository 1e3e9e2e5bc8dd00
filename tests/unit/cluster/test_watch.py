"""`DaskCluster.run`'s watch over its tasks, against a fake Dask client:
one pinned, never-retried task per shard; a lost worker or a failed task
names its segment and stops the others; a first stop request sets the
stop event, a second cancels what still runs. No process, no socket."""

from __future__ import annotations

import types
from typing import Any

import pytest

from loadtest.cluster import _dask
from loadtest.cluster._dask import DaskCluster
from loadtest.errors import RuntimeFailure
from loadtest.scale import ShardJob, ShardResult

W0, W1 = "tcp://10.0.0.1:4001", "tcp://10.0.0.2:4001"


class FakeFuture:
    def __init__(self, job: ShardJob) -> None:
        self.job = job
        self.status = "pending"
        self.error: BaseException | None = None

    def done(self) -> bool:
        return self.status != "pending"

    def result(self) -> ShardResult:
        return ShardResult(self.job.index, self.job.count, "h", 0)

    def exception(self) -> BaseException | None:
        return self.error

    def cancel(self) -> None:
        self.status = "cancelled"


class FakeEvent:
    def __init__(self, name: str, client: Any) -> None:
        self.name = name
        self.is_set = False

    def set(self) -> None:
        self.is_set = True

    def clear(self) -> None:
        pass


class FakeClient:
    """Each poll runs `script(poll, client)`: the test's cluster events."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.futures: list[FakeFuture] = []
        self.submitted: list[dict[str, Any]] = []
        self.alive = {W0, W1}
        self.cancelled: list[FakeFuture] = []
        self.polls = 0

    def submit(self, fn: Any, job: ShardJob, event: str, **options: Any) -> FakeFuture:
        self.submitted.append(options)
        future = FakeFuture(job)
        self.futures.append(future)
        return future

    def nthreads(self) -> dict[str, int]:
        self.polls += 1
        self.script(self.polls, self)
        return dict.fromkeys(self.alive, 1)

    def cancel(self, futures: list[FakeFuture], force: bool) -> None:
        self.cancelled += futures


@pytest.fixture(autouse=True)
def fake_dask(monkeypatch: pytest.MonkeyPatch) -> list[FakeEvent]:
    events: list[FakeEvent] = []

    def event(name: str, client: Any) -> FakeEvent:
        events.append(FakeEvent(name, client))
        return events[-1]

    monkeypatch.setattr(_dask, "POLL_S", 0.0)
    monkeypatch.setattr(_dask, "import_distributed", lambda: types.SimpleNamespace(Event=event))
    return events


def jobs() -> list[ShardJob]:
    return [
        ShardJob(profile={}, name="p", index=i, count=2, start_at_unix_s=0.0, run_id="r", stamp="t")
        for i in range(2)
    ]


def run(client: FakeClient, requests: Any = lambda: 0) -> Any:
    cluster = DaskCluster(client, "tcp://s:8786", [W0, W1])
    cluster.hosts = {W0: "gen-a", W1: "gen-b"}
    lines: list[str] = []
    return cluster.run(jobs(), stop_requests=requests, announce=lines.append), lines


def finish(*indices: int) -> Any:
    def script(poll: int, client: FakeClient) -> None:
        for index in indices:
            client.futures[index].status = "finished"

    return script


def test_one_pinned_never_retried_task_per_shard(fake_dask: list[FakeEvent]) -> None:
    client = FakeClient(finish(0, 1))
    outcome, lines = run(client)
    assert sorted(outcome.results) == [0, 1]
    assert (outcome.lost, outcome.cancelled) == ({}, False)
    assert [options["workers"] for options in client.submitted] == [[W0], [W1]]
    assert all(o["retries"] == 0 and o["allow_other_workers"] is False for o in client.submitted)
    assert all(o["pure"] is False for o in client.submitted)
    assert len({options["key"] for options in client.submitted}) == 2
    assert lines[0].startswith("cluster: 2 segments submitted to tcp://s:8786 (0 on ")
    assert not fake_dask[0].is_set


def test_a_worker_that_leaves_loses_its_segment_and_stops_the_others(
    fake_dask: list[FakeEvent],
) -> None:
    def script(poll: int, client: FakeClient) -> None:
        if poll == 1:
            client.alive.discard(W1)
        elif fake_dask[0].is_set:
            client.futures[0].status = "finished"  # the other shard stopped and returned

    client = FakeClient(script)
    outcome, _ = run(client)
    assert outcome.lost == {1: f"lost: its Dask worker {W1} (gen-b) left the cluster"}
    assert sorted(outcome.results) == [0]
    assert client.futures[1].status == "cancelled"
    assert fake_dask[0].is_set


def test_a_failed_task_is_named_with_its_error(fake_dask: list[FakeEvent]) -> None:
    def script(poll: int, client: FakeClient) -> None:
        client.futures[0].status = "error"
        client.futures[0].error = ValueError("no such module")
        if fake_dask[0].is_set:
            client.futures[1].status = "finished"

    outcome, _ = run(FakeClient(script))
    assert outcome.lost == {0: f"its task failed on {W0}: ValueError: no such module"}
    assert sorted(outcome.results) == [1]


def test_a_first_stop_request_sets_the_event_a_second_cancels(
    fake_dask: list[FakeEvent],
) -> None:
    requests = iter([0, 1, 1, 2])
    client = FakeClient(lambda poll, c: None)
    outcome, _ = run(client, lambda: next(requests))
    assert fake_dask[0].is_set
    assert outcome.cancelled
    assert client.cancelled == client.futures
    assert (outcome.results, outcome.lost) == ({}, {})


def test_a_scheduler_that_stops_answering_is_an_error_naming_the_segments() -> None:
    def script(poll: int, client: FakeClient) -> None:
        raise OSError("connection closed")

    with pytest.raises(RuntimeFailure, match=r"stopped answering \(OSError\); segments 0/2, 1/2"):
        run(FakeClient(script))
