"""Import every layer that registers plug-ins, so :mod:`linksim.registry`'s tables are full.

:mod:`linksim.config` validates plug-in names against those tables without
importing the layers above it; whoever validates a scenario (the CLI, the test
suite, a user's script) calls :func:`load_all` first. Importing the learned
systems pulls in Keras, so :func:`load_all` is also where that cost is paid.
"""
from __future__ import annotations

import importlib

LAYERS = ("linksim.phy", "linksim.nn", "linksim.source", "linksim.systems", "linksim.experiments")


def load_all() -> None:
    """Import :data:`LAYERS` (each registers its plug-ins on import; repeated calls are free)."""
    for name in LAYERS:
        importlib.import_module(name)
