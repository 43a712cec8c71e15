"""SNR convention of the image experiments and the post-precoding SINR / capacity bound.

SNR (seed 003 Fig. 8's x-axis) is defined per resource element as

    SNR = 1 / N0,

the inverse noise variance per UE receive RE, with the BS transmitting
E|x|^2 = 1 per antenna and RE (``precoder.power: per_antenna``, seed 003's
E[|X|^2] <= P with P = 1; ``total`` gives the antennas power 1 together) and
the channel normalised to unit average energy per BS antenna and link
(``channel.normalize``). So SNR is the average received signal-to-noise ratio
of one BS antenna's signal at a UE, before precoding gain and before the
power is shared by the users' streams. Every link is driven by this N0
(:func:`linksim.phy.noise.snr_db_to_no`); Eb/N0 is a label
(:func:`linksim.phy.noise.ebno_db_from_no`).

The "capacity" ideal bound of the SSCC baseline (seeds 000/002/003) needs the
number of bits a user could receive error-free over one slot: Shannon's
log2(1 + SINR) summed over the user's data resource elements, with the SINR of
its own stream after RZF precoding on the BS's CSI (the true channel, or the
estimate of ``precoder.csi: estimated``) through the true channel, treating the other
users' streams as Gaussian interference (what a single-antenna UE with linear
reception can do, and what the LMMSE receiver of the practical link achieves
with perfect CSI).
"""
from __future__ import annotations

import math

import tensorflow as tf
from sionna.phy import Block

from linksim.config import Scenario
from linksim.phy.bs_csi import bs_csi
from linksim.phy.channels import CHANNELS
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS


def post_precoding_sinr(h_eff: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
    """Per-user, per-RE SINR of the user's own stream: |h_kk|^2 / (sum_{j != k} |h_kj|^2 + N0).

    Input
    -----
    h_eff : [batch_size, num_users, 1, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
        Effective channel after precoding (stream j to user k), as the
        precoders return it (the P/K power per stream already applied).
    no : scalar tf.float
        Noise variance per resource element.

    Output
    ------
    sinr : [batch_size, num_users, num_ofdm_symbols, fft_size], tf.float
    """
    gain = tf.abs(h_eff[:, :, 0, 0]) ** 2                       # [B, K(user), K(stream), S, F]
    num_users = tf.shape(gain)[1]
    own = tf.eye(num_users, dtype=gain.dtype)[None, :, :, None, None]
    signal = tf.reduce_sum(gain * own, axis=2)                  # [B, K, S, F]
    interference = tf.reduce_sum(gain, axis=2) - signal
    return signal / (interference + tf.cast(no, gain.dtype))


class CapacityBudget(Block):
    """Bits each user could receive error-free in one slot: sum over data REs of log2(1 + SINR).

    Draws the scenario's channel, the BS's CSI and precodes exactly as
    :class:`~linksim.phy.link.DownlinkLink` does (same channel, BS-CSI and
    precoder blocks, channel drawn first, then the CSI error), so after the
    same ``sionna.phy.config.seed`` it sees the same realisation as the
    practical link.

    Parameters
    ----------
    scenario : Scenario
        Grid, channel model, arrays and precoder.

    Input
    -----
    batch_size : int
        Number of slots.
    no : scalar tf.float
        Noise variance per resource element (= 1 / SNR).

    Output
    ------
    budget_bits : [batch_size, num_users], tf.float
        Capacity of each user's data resource elements in the slot.
    """

    def __init__(self, scenario: Scenario, precision=None):
        super().__init__(precision=precision)
        self.resource_grid = rg = resource_grid(scenario, precision)
        num_users = scenario.ue.num_users
        self.channel = CHANNELS[scenario.channel.model](scenario, rg, precision=precision)
        self.precoder = PRECODERS[scenario.precoder.name](
            scenario, rg, downlink_streams(num_users), precision=precision)
        self.bs_csi = bs_csi(scenario, rg, precision=precision)
        mask = tf.cast(rg.pilot_pattern.mask[0], self.rdtype)   # [K, S, F], 1 = pilot or null
        self._data_re = 1.0 - mask
        self._grid = [1, num_users, rg.num_ofdm_symbols, rg.fft_size]

    def call(self, batch_size, no):
        h = self.channel(batch_size)                             # [B, K, 1, 1, M, S, F]
        x = tf.zeros(tf.concat([[batch_size], self._grid], 0), self.cdtype)
        h_bs, _ = self.bs_csi(h, no)
        _, h_eff = self.precoder.precode(x, h_bs, no, h)         # [B, K, 1, 1, K, S, F]
        sinr = post_precoding_sinr(h_eff, no)                    # [B, K, S, F]
        bits = tf.math.log(1.0 + sinr) / math.log(2.0)
        return tf.reduce_sum(bits * self._data_re, axis=[2, 3])
