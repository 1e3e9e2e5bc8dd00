"""A third-party protocol for loadtest, as its own package would ship it.

`tagged-chat` is OpenAI chat completions on its own path, with one more
header on every request. The package declares it in its pyproject.toml:

    [project.entry-points."loadtest.protocols"]
    tagged-chat = "loadtest_tagged:TaggedChatAdapter"

and loadtest finds it by that name (profiles, `loadtest protocols`, the mock).
"""

from __future__ import annotations

from loadtest.protocol.openai_chat import OpenAIChatAdapter


class TaggedChatAdapter(OpenAIChatAdapter):
    """OpenAI chat completions on `/v1/tagged/chat/completions`, tagged."""

    path = "/v1/tagged/chat/completions"

    def scenario_headers(self, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
        """The headers of every request: OpenAI chat's, and the tag."""
        return (*super().scenario_headers(model=model, stream=stream), ("x-tagged", "yes"))
