"""Register a third-party protocol through the entry-point group and run it.

loadtest finds protocols by name in its registry; third-party packages add
theirs with an entry point in the `loadtest.protocols` group (see
examples/plugin/loadtest_tagged.py). Here the package is "installed" by
writing its dist-info into a temporary directory on sys.path, which is what
`pip install` leaves behind; then a profile names the protocol, and the
built-in mock (in this process, on 127.0.0.1) answers it too, since it
serves every registered protocol that has a server codec.

    python examples/protocol_plugin.py [--stage 2:1s]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import trio

import loadtest
from loadtest import MockConfig

PLUGIN = Path(__file__).parent / "plugin" / "loadtest_tagged.py"
PROTOCOL = "tagged-chat"

PROFILE = {
    "name": "plugin",
    "stages": ["2:1s"],
    "warmup": "0s",
    "defaults": {
        "target": "http://127.0.0.1:9/v1",  # replaced by the mock's URL
        "protocol": PROTOCOL,
        "model": "m",
        "max_tokens": 16,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["Say hello."]},
    },
}


def install(site: Path) -> None:
    """What `pip install loadtest-tagged` would leave: the module and a
    dist-info declaring the entry point, on sys.path."""
    shutil.copy(PLUGIN, site / PLUGIN.name)
    info = site / "loadtest_tagged-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loadtest-tagged\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{loadtest.ENTRY_POINT_GROUP}]\n{PROTOCOL} = loadtest_tagged:TaggedChatAdapter\n"
    )
    sys.path.insert(0, str(site))


async def run(stage: str) -> dict[str, object]:
    """One stage of the plugin's protocol against the mock; the summary."""
    async with trio.open_nursery() as nursery:
        url = await nursery.start(loadtest.serve_mock, MockConfig(port=0, ttft="10ms"))
        overrides = loadtest.Overrides(target=url, stages=loadtest.parse_stages(stage))
        plan = loadtest.resolve(loadtest.structure_profile(PROFILE), overrides, env={})
        async with loadtest.open_engine(plan) as engine:
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return loadtest.build_summary(plan, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="2:1s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as site:
        install(Path(site))
        print(f"protocols: {', '.join(loadtest.available())}")
        adapter = loadtest.get_adapter(PROTOCOL)
        print(f"{PROTOCOL}: {adapter.__module__}.{adapter.__qualname__} on {adapter.path}")
        summary = trio.run(run, args.stage)
    total = summary["stages"][0]["total"]  # type: ignore[index]
    print(f"{total['requests']} turns of {PROTOCOL}: {total['ok']} ok")


if __name__ == "__main__":
    main()
