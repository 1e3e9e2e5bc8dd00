"""Hypothesis strategies that build valid `Profile` objects."""

from __future__ import annotations

from hypothesis import strategies as st

from loadtest.config import (
    ClosedStage,
    Correlation,
    Defaults,
    Duration,
    DurationRange,
    HttpOptions,
    IntRange,
    OpenStage,
    PoolContent,
    Profile,
    Scenario,
    ScriptedContent,
    SizedContent,
    Thresholds,
    Timeouts,
    Tool,
)
from loadtest.config._checks import RESERVED_BODY_KEYS

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip())
names = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)
durations = st.integers(min_value=0, max_value=10**11).map(Duration)
positive_durations = st.integers(min_value=1, max_value=10**11).map(Duration)
small_floats = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def int_ranges(draw: st.DrawFn) -> IntRange:
    low = draw(st.integers(min_value=1, max_value=20))
    return IntRange(low, draw(st.integers(min_value=low, max_value=40)))


@st.composite
def duration_ranges(draw: st.DrawFn) -> DurationRange:
    low = draw(st.integers(min_value=0, max_value=10**8))
    return DurationRange(Duration(low), Duration(draw(st.integers(low, 2 * 10**8))))


turns = st.one_of(st.integers(min_value=1, max_value=50), int_ranges())
think_times = st.one_of(durations, duration_ranges())
contents = st.one_of(
    st.lists(texts, min_size=1, max_size=3).map(lambda p: PoolContent(tuple(p))),
    st.lists(texts, min_size=1, max_size=3).map(lambda p: ScriptedContent(tuple(p))),
    st.integers(min_value=1, max_value=20000).map(SizedContent),
)
stages = st.one_of(
    st.builds(ClosedStage, st.integers(1, 10000), positive_durations),
    st.builds(
        OpenStage,
        st.floats(min_value=0.001, max_value=1e5, allow_nan=False),
        positive_durations,
        st.sampled_from([None, "constant", "poisson", "gamma"]),
    ),
    st.builds(
        OpenStage,
        st.floats(min_value=0.001, max_value=1e5, allow_nan=False),
        positive_durations,
        st.just("gamma"),
        st.floats(min_value=0.01, max_value=1000, allow_nan=False),
    ),
)
header_maps = st.dictionaries(names, texts, max_size=3)
extra_bodies = st.dictionaries(
    names.filter(lambda n: n not in RESERVED_BODY_KEYS),
    st.one_of(st.integers(-1000, 1000), st.booleans(), texts),
    max_size=3,
)
tools = st.lists(
    st.builds(
        Tool,
        name=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
        description=st.none() | texts,
        parameters=extra_bodies,
    ),
    max_size=3,
    unique_by=lambda tool: tool.name,
).map(tuple)
thresholds = st.builds(
    Thresholds,
    st.none() | small_floats,
    st.none() | small_floats,
    st.none() | small_floats,
    st.none() | small_floats,
    st.none() | st.floats(0, 1),
    st.none() | small_floats,
)
defaults = st.builds(
    Defaults,
    protocol=st.sampled_from(["openai-chat", "anthropic", "openai-responses"]),
    target=st.none() | st.just("http://localhost:4000/v1"),
    headers=header_maps,
    model=st.none() | names,
    max_tokens=st.integers(1, 4096),
    stream=st.booleans(),
    system=st.none() | texts,
    temperature=st.none() | st.floats(0, 2),
    extra_body=extra_bodies,
    tools=tools,
    tool_choice=st.none() | names,
    turns=turns,
    content=contents,
)


@st.composite
def scenario_lists(draw: st.DrawFn) -> tuple[Scenario, ...] | None:
    scenario_names = names.filter(lambda n: n != "total")  # reserved
    chosen = draw(st.none() | st.lists(scenario_names, min_size=1, max_size=4, unique=True))
    if chosen is None:
        return None
    out = []
    for index, name in enumerate(chosen):
        weight = draw(st.floats(0.5 if index == 0 else 0, 100))
        out.append(
            Scenario(
                name=name,
                weight=weight,
                turns=draw(st.none() | turns),
                think_time=draw(st.none() | think_times),
                content=draw(st.none() | contents),
                stream=draw(st.none() | st.booleans()),
                max_tokens=draw(st.none() | st.integers(1, 4096)),
                system=draw(st.none() | texts),
                model=draw(st.none() | names),
                headers=draw(st.none() | header_maps),
                extra_body=draw(st.none() | extra_bodies),
                tools=draw(st.none() | tools),
                tool_choice=draw(st.none() | names),
                thresholds=draw(st.none() | thresholds),
            )
        )
    return tuple(out)


profiles = st.builds(
    Profile,
    name=st.none() | names,
    stages=st.lists(stages, min_size=1, max_size=4).map(tuple),
    defaults=defaults,
    scenarios=scenario_lists(),
    warmup=durations,
    graceful_stop=durations,
    think_time=think_times,
    cache_mode=st.sampled_from(["bust", "shared-prefix", "natural"]),
    correlation=st.builds(Correlation, st.sampled_from(["x-request-id", ""]), st.booleans()),
    thresholds=thresholds,
    seed=st.integers(0, 2**63 - 1),
    timeouts=st.builds(Timeouts, positive_durations, positive_durations, positive_durations),
    http=st.builds(HttpOptions, st.booleans(), st.booleans(), st.none() | names),
    max_in_flight=st.none() | st.integers(1, 10**6),
    arrival=st.sampled_from(["constant", "poisson", "gamma"]),
    burstiness=st.floats(min_value=0.01, max_value=1000, allow_nan=False),
    redact_headers=st.lists(names, max_size=3).map(tuple),
)
