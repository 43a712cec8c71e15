"""Name -> factory tables for every plug-in kind (CompressAI's pattern).

A scenario YAML names a plug-in (channel model, precoder, estimator, equalizer,
source codec, learned system, experiment kind) by its registry key. Adding one
is a new class plus one ``@REGISTRY.register("key")`` line; the config
validator and the CLI's ``list`` command read the keys from here, so nothing
else needs to change.

The tables live here, at the bottom of the layering (this module imports
nothing from linksim): :mod:`linksim.config` validates names against them
without importing the layers that fill them. A layer registers its plug-ins
when it is imported; :func:`linksim.plugins.load_all` imports every layer, and
the CLI (and the test suite) call it before validating a scenario.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered ``name -> factory`` table for one kind of plug-in.

    Parameters
    ----------
    kind : str
        Human name of the plug-in kind, used in error messages
        (e.g. ``"channel model"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, doc: str | None = None) -> Callable[[T], T]:
        """Decorator adding ``obj`` under ``name``; ``doc`` defaults to its docstring's first line."""

        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            text = doc or (getattr(obj, "__doc__", None) or "").strip().splitlines()
            self._docs[name] = text if isinstance(text, str) else (text[0] if text else "")
            return obj

        return add

    def require_loaded(self) -> None:
        """Raise if nothing registered yet: the layer that fills this table was never imported."""
        if not self._items:
            raise LookupError(f"no {self.kind} is registered yet: call linksim.plugins.load_all() "
                              f"before validating a scenario")

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; allowed: {', '.join(self)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def describe(self) -> dict[str, str]:
        """``{name: one-line description}`` for ``linksim list``."""
        return dict(self._docs)


CHANNELS: Registry = Registry("channel model")
"""``channel.model``: :class:`linksim.phy.channels.FrequencyChannel` factories ``(scenario, resource_grid)``."""
PRECODERS: Registry = Registry("precoder")
"""``precoder.name``: :class:`linksim.phy.precoding.Precoder` classes."""
ESTIMATORS: Registry = Registry("channel estimator")
"""``receiver.estimator``: :class:`linksim.phy.estimation.Estimator` classes."""
SOUNDING_ESTIMATORS: Registry = Registry("sounding estimator")
"""``sounding.estimator``: BS-side full-channel estimators from pilot OFDM symbols (:mod:`linksim.phy.sounding`)."""
BS_ESTIMATORS: Registry = Registry("BS channel estimator")
"""``precoder.csi_estimator``: :class:`linksim.phy.bs_csi.BSChannelEstimator` classes (CSI the BS precodes from)."""
P2P_ESTIMATORS: Registry = Registry("P2P channel estimator")
"""Point-to-point MIMO CSI from N_T x N_T pilots: classes ``(num_rx_ant, num_tx_ant, power, **options)``
called ``(y_pilots [B, N_R, N_T], no [B]) -> h_hat [B, N_R, N_T]`` (``ls``: :mod:`linksim.phy.p2p_estimation`;
``npn``, learned: :mod:`linksim.nn.npn`)."""
EQUALIZERS: Registry = Registry("equalizer")
"""``receiver.equalizer``: Sionna OFDM equaliser factories."""
CODECS: Registry = Registry("source codec")
"""SSCC ``codecs``: :class:`linksim.source.SourceCodec` factories."""
SYSTEMS: Registry = Registry("learned system")
"""``semantic.system``: :class:`linksim.systems.System` descriptions (one subpackage each)."""
EXPERIMENTS: Registry = Registry("experiment kind")
"""An experiment's ``kind``: runners ``(scenario, experiment, out_dir, progress) -> paths``."""
