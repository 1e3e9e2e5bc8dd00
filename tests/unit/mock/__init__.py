"""Unit tests of the mock upstream's pure parts: grammar, cache, answers, HTTP framing."""
