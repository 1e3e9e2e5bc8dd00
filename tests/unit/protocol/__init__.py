"""Tests of the protocol adapters, their SSE decoder and server codecs."""
