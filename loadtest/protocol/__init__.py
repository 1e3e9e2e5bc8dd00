"""Protocol adapters (sans-IO) and their registry.

`get_adapter("openai-chat")()` gives an adapter; see `_base` for the
contract every adapter keeps. The built-in adapters are imported explicitly
below; each registers itself. Importing this package imports neither trio
nor httpcore.
"""

from __future__ import annotations

# The built-in adapters: importing each module registers it (F401: imported
# for that side effect).
from loadtest.protocol import (  # noqa: F401
    anthropic,
    openai_chat,
    openai_embeddings,
    openai_responses,
)
from loadtest.protocol._base import (
    Adapter,
    ContentDelta,
    Conversation,
    Embeddings,
    Event,
    Finish,
    FunctionTool,
    Message,
    Reply,
    Request,
    ResponseError,
    ResponseParser,
    ServedRequest,
    ServerCodec,
    StreamRenderer,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from loadtest.protocol._registry import ENTRY_POINT_GROUP, available, get_adapter, register

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "ContentDelta",
    "Conversation",
    "Embeddings",
    "Event",
    "Finish",
    "FunctionTool",
    "Message",
    "Reply",
    "Request",
    "ResponseError",
    "ResponseParser",
    "ServedRequest",
    "ServerCodec",
    "StreamRenderer",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "available",
    "get_adapter",
    "register",
]
