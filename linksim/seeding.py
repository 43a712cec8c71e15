"""Stable hashes and derived seeds: what makes every sweep point reproducible on its own.

A point's seed is derived from the scenario seed and the point's identity
(its configuration hash and coordinate), never from a running counter, so a
point computed alone, after an interruption, or on another worker gets the
same random stream. Lowest layer: imports nothing from linksim.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(obj: Any, length: int = 12) -> str:
    """A short hash of a JSON-serialisable object, stable across runs and machines."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def derived_seed(*parts: Any) -> int:
    """A 31-bit seed from any parts, so each sweep point has its own reproducible stream."""
    return int(stable_hash(parts, 8), 16) & 0x7FFFFFFF
