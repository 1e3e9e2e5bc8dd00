"""The event classes: value semantics of the per-event `ContentDelta`."""

from __future__ import annotations

from loadtest.protocol import ContentDelta, Finish


def test_content_delta_compares_and_hashes_by_value() -> None:
    delta = ContentDelta("hi", 2, True)
    assert delta == ContentDelta("hi", 2, True)
    assert delta != ContentDelta("hi", 2)
    assert delta != ContentDelta("hi")
    assert ContentDelta("hi") == ContentDelta("hi", None, False)
    assert delta != ("hi", 2, True)
    assert delta != Finish("stop")
    assert len({delta, ContentDelta("hi", 2, True), ContentDelta("ho")}) == 2
    assert repr(delta) == "ContentDelta(text='hi', tokens=2, reasoning=True)"
    assert (delta.text, delta.tokens, delta.reasoning) == ("hi", 2, True)
