"""The one interface every channel model implements."""
from __future__ import annotations

import tensorflow as tf
from sionna.phy import Block


class FrequencyChannel(Block):
    """Draws downlink OFDM channel frequency responses, one per resource element.

    Subclasses wrap a Sionna channel model. The BS is the single transmitter;
    each user is one receiver with ``ue.array.num_ant`` antennas (1 in the
    MU-MIMO downlink; N_R in the point-to-point link, :mod:`linksim.phy.p2p`). A new realisation (and, for the
    38.901 system-level models, a new random topology) is drawn at every call,
    so it can live inside a compiled Monte-Carlo or training step.

    Input
    -----
    batch_size : int
        Number of independent slots to draw.

    Output
    ------
    h_freq : [batch_size, num_users, num_rx_ant, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex
        Channel from every BS antenna to every user on every resource element.
        With ``normalize=True`` each (slot, user) link has unit average energy
        per BS antenna over the grid, so Eb/N0 is well defined.
    """

    direction = "downlink"
    """``"uplink"`` for the models of ``link: mu_mimo_uplink`` (the BS receives; their own Output)."""

    def call(self, batch_size: int) -> tf.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def uplink_grid(h: tf.Tensor) -> tf.Tensor:
    """Per-UE links [B, K, N_r, N_t, S, F] as Sionna's uplink [B, 1, N_r, K, N_t, S, F] (the BS is rx 0)."""
    return tf.transpose(h, [0, 2, 1, 3, 4, 5])[:, None]


def ue_velocities(scenario) -> tuple[float | None, float | None]:
    """(min, max) UE speed [m/s]: ``hybrid.speed_kmh`` on ``link: mu_mimo_uplink``, else ``channel``'s.

    None: the model's default (38.901 topology defaults; CDL: min 0, max = min).
    """
    if scenario.link == "mu_mimo_uplink":
        return scenario.hybrid.speed_range_ms
    return scenario.channel.min_ut_velocity, scenario.channel.max_ut_velocity
