"""Source codecs for the separate source-channel coding (SSCC) baselines, and their rate control.

``CODECS`` maps a scenario's codec name to a factory returning a
:class:`SourceCodec`; each codec is one module plus one
``@CODECS.register(...)`` line. Payload bytes are exactly the bits the link
carries (see each module's accounting).
"""
from linksim.registry import CODECS
from linksim.source.base import DecodeError, SourceCodec

from linksim.source import bpg, jpeg  # noqa: E402,F401  (each registers itself)

__all__ = ["CODECS", "DecodeError", "SourceCodec"]
