"""The one channel-plus-AWGN block: y = sum_m h x_m + n per resource element, n ~ CN(0, N0).

Every link of linksim (the coded MU-MIMO downlink, the point-to-point MIMO
link, and the learned semantic systems through
:class:`linksim.nn.channel.OFDMChannel`) sends its antenna signals
through :class:`ChannelAWGN`. It wraps Sionna's ``ApplyOFDMChannel`` on
purpose: the noise is drawn by Sionna's ``AWGN`` block from the global
generator (``sionna.phy.config.tf_rng``) in the output's shape, so two
systems that draw the same channel under the same seed and then pass signals
of the same shape through this block see *the same noise samples* (what lets
the semantic evaluation reuse the SSCC link's realisations).
"""
from __future__ import annotations

from sionna.phy import Block
from sionna.phy.channel import ApplyOFDMChannel


class ChannelAWGN(Block):
    """Frequency-domain (flat per RE) MIMO channel plus AWGN: Sionna's ``ApplyOFDMChannel``.

    y[b, r, a, s, f] = sum_t sum_m h[b, r, a, t, m, s, f] x[b, t, m, s, f] + n[b, r, a, s, f],
    n ~ CN(0, N0) i.i.d.; differentiable with respect to ``x`` (and ``h``).

    Input
    -----
    x : [batch_size, num_tx, num_tx_ant, num_ofdm_symbols, fft_size], tf.complex
        Transmitted antenna signals.
    h : [batch_size, num_rx, num_rx_ant, num_tx, num_tx_ant, num_ofdm_symbols, fft_size], tf.complex
        Channel frequency response of every resource element (a point-to-point
        link with ``num_uses`` channel uses passes them as ``num_ofdm_symbols = 1,
        fft_size = num_uses``).
    no : None | tf.float, broadcastable to ``y`` (scalar, or [batch_size] etc.: dims added last)
        Noise variance N0 per complex RE; None: noiseless.

    Output
    ------
    y : [batch_size, num_rx, num_rx_ant, num_ofdm_symbols, fft_size], tf.complex
        Received signals.
    """

    def __init__(self, precision=None, **kwargs):
        super().__init__(precision=precision, **kwargs)
        self._apply = ApplyOFDMChannel(precision=precision)

    def call(self, x, h, no=None):
        return self._apply(x, h, no)
