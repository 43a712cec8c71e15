"""How a step runs: eager, as a TensorFlow graph, or XLA-compiled (the scenario's ``runtime.mode``).

One helper instead of the ``tf.function(fn, jit_compile=...)`` line at every
call site. It lives below every other layer (it imports TensorFlow only), so
the physical layer, the systems and the experiments compile the same way.
Graph and XLA draw different random numbers from the same seed, so a
realisation shared between two experiments must be drawn in the same mode.
"""
from __future__ import annotations

from typing import Callable, Literal

import tensorflow as tf

Mode = Literal["xla", "graph", "eager"]


def compiled(fn: Callable, mode: Mode, **kwargs) -> Callable:
    """``fn`` as ``mode`` runs it: itself (eager), ``tf.function`` (graph) or with ``jit_compile`` (xla).

    ``kwargs`` go to ``tf.function`` (e.g. ``reduce_retracing=True``).
    """
    if mode == "eager":
        return fn
    if mode not in ("graph", "xla"):
        raise ValueError(f"runtime mode {mode!r}; allowed: xla, graph, eager")
    return tf.function(fn, jit_compile=(mode == "xla"), **kwargs)
