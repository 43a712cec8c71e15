"""Point-to-point MIMO link (``link: p2p_mimo``): one BS with N_T antennas, one UE with N_R, SVD streams.

Model, per channel use (flat fading; every resource element is one channel use):

    y = H x + n,   H in C^{N_R x N_T},   n ~ CN(0, N0 I),   E||x||^2 = P,

with P the total transmit power of ``precoder.power``
(:func:`linksim.phy.precoding.transmit_power`: N_T for ``per_antenna``, 1 for
``total``) and channels of unit average energy per entry, so SNR = 1/N0 per
receive antenna and RE, the convention of the downlink (:mod:`linksim.phy.noise`).

CSI at both ends (perfect). **SVD precoding and detection**: H = U Σ V^H; the
transmitter sends x = V_s diag(sqrt(p)) s for N_s unit-energy streams s
(``p2p.num_streams``, the strongest singular values), the receiver computes
r = U_s^H y = diag(sqrt(p) σ) s + U_s^H n, i.e. N_s parallel scalar channels
of gain g_i = sqrt(p_i) σ_i with noise CN(0, N0) (U_s has orthonormal
columns), detected as s_hat = r / g with noise variance N0 / g^2.
``p2p.power_allocation``: ``equal`` (p_i = P / N_s) or ``waterfilling``
(p_i = max(0, μ - N0 / σ_i^2), Σ p_i = P, per channel use: the capacity-
achieving allocation; a stream that gets no power carries LLRs of zero).

Sionna has no SVD precoder or water-filling block; both are written here
(``tf.linalg.svd``). Channel plus noise is the physical layer's one block,
:class:`~linksim.phy.channel_apply.ChannelAWGN`; LDPC, QAM mapping and APP
demapping are Sionna's.

Channel samples (:class:`P2PMIMOChannel`): ``channel.model: rayleigh`` draws
i.i.d. CN(0, 1) entries independently per channel use; any other registered
OFDM model (UMi, CDL, AWGN = identity, ...) is drawn with the UE's array and
its per-RE frequency responses on the data OFDM symbols (those not in
``ofdm.pilot_ofdm_symbol_indices``, left for sounding) are the narrowband
channel uses, so ``num_uses = N_data_symbols x fft_size`` in both cases.
"""
from __future__ import annotations

import math

import tensorflow as tf
from sionna.phy import Block
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import BinarySource, Demapper, Mapper
from sionna.phy.utils import complex_normal

from linksim.config import MCS, Scenario
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.channels import CHANNELS
from linksim.phy.noise import no_from_ebno_db
from linksim.phy.ofdm import resource_grid
from linksim.phy.precoding import transmit_power


def num_streams(scenario: Scenario) -> int:
    """N_s: ``p2p.num_streams`` or min(N_T, N_R)."""
    full = min(scenario.bs.array.num_ant, scenario.ue.array.num_ant)
    return scenario.p2p.num_streams or full


class P2PMIMOChannel(Block):
    """Narrowband MIMO channel samples, one matrix per channel use (module docstring).

    Parameters
    ----------
    scenario : Scenario
        ``channel.model``, ``bs.array`` (N_T), ``ue.array`` (N_R), the OFDM grid
        (``ue.num_users`` must be 1).

    Input
    -----
    batch_size : int
        Number of slots.

    Output
    ------
    h : [batch_size, num_uses, num_rx_ant, num_tx_ant], tf.complex
        H of every channel use; ``num_uses`` = :attr:`num_uses`.
    """

    def __init__(self, scenario: Scenario, precision=None):
        super().__init__(precision=precision)
        rg = resource_grid(scenario, precision)
        pilots = set(scenario.ofdm.pilot_ofdm_symbol_indices)
        self._data_symbols = [s for s in range(rg.num_ofdm_symbols) if s not in pilots]
        self.num_uses = len(self._data_symbols) * rg.fft_size
        self.num_rx_ant, self.num_tx_ant = scenario.ue.array.num_ant, scenario.bs.array.num_ant
        self._iid = scenario.channel.model == "rayleigh"
        if not self._iid:
            self._ofdm = CHANNELS[scenario.channel.model](scenario, rg, precision=precision)

    def call(self, batch_size):
        if self._iid:
            return complex_normal([batch_size, self.num_uses, self.num_rx_ant, self.num_tx_ant],
                                  precision=self.precision)
        h = self._ofdm(batch_size)                               # [B, 1, N_R, 1, N_T, S, F]
        h = tf.gather(h[:, 0, :, 0], self._data_symbols, axis=3)  # [B, N_R, N_T, S_data, F]
        h = tf.transpose(h, [0, 3, 4, 1, 2])                     # [B, S_data, F, N_R, N_T]
        return tf.reshape(h, [batch_size, self.num_uses, self.num_rx_ant, self.num_tx_ant])


class P2PBlockFading(Block):
    """One narrowband MIMO matrix per slot: block fading over the slot's channel uses (seed 002's eq. 1).

    Seed 002 sends an image's codeword through one channel matrix h (the CSI
    its encoder fuses is one N_R x N_T matrix). ``rayleigh`` draws i.i.d.
    CN(0, 1) entries; any other model is the first channel use of
    :class:`P2PMIMOChannel` (the response of the first data RE).

    Input: batch_size (int).  Output: h [batch_size, num_rx_ant, num_tx_ant], tf.complex.
    """

    def __init__(self, scenario: Scenario, precision=None):
        super().__init__(precision=precision)
        self.num_rx_ant, self.num_tx_ant = scenario.ue.array.num_ant, scenario.bs.array.num_ant
        self._uses = None if scenario.channel.model == "rayleigh" else P2PMIMOChannel(
            scenario, precision=precision)

    def call(self, batch_size):
        if self._uses is None:
            return complex_normal([batch_size, self.num_rx_ant, self.num_tx_ant],
                                  precision=self.precision)
        return self._uses(batch_size)[:, 0]


def water_filling(gain, no, total_power) -> tf.Tensor:
    """Powers p_i = max(0, μ - N0/σ_i²) with Σ p_i = P, per channel use (written here).

    Input
    -----
    gain : [..., N_s], tf.float
        σ_i², sorted in decreasing order (as the SVD returns them).
    no : tf.float, broadcastable to ``gain[..., :1]``
        Noise variance.
    total_power : float
        P.

    Output
    ------
    p : [..., N_s], tf.float
    """
    tiny = tf.constant(1e-30, gain.dtype)
    inv = tf.cast(no, gain.dtype) / tf.maximum(gain, tiny)       # N0/σ² (increasing)
    n = tf.cast(tf.range(1, tf.shape(gain)[-1] + 1), gain.dtype)
    mu = (total_power + tf.cumsum(inv, axis=-1)) / n              # water level with the first n active
    active = tf.reduce_sum(tf.cast(mu > inv, tf.int32), axis=-1, keepdims=True)  # >= 1
    level = tf.gather(mu, active - 1, batch_dims=len(gain.shape) - 1)
    return tf.maximum(level - inv, 0.0)


class SVDPrecoder(Block):
    """SVD precoding with the streams' power: x = V_s diag(sqrt(p)) s, and the receive combiner U_s.

    Parameters
    ----------
    num_streams : int
        N_s <= min(N_T, N_R): the strongest singular directions.
    total_power : float
        P = E||x||² per channel use.
    power_allocation : "equal" | "waterfilling"

    Input
    -----
    x : [batch_size, num_uses, num_streams], tf.complex
        Unit-energy stream symbols.
    h : [batch_size, num_uses, num_rx_ant, num_tx_ant], tf.complex
        Channel (known at the transmitter).
    no : scalar or [batch_size], tf.float
        Noise variance (used by water-filling).

    Output
    ------
    x_tx : [batch_size, num_uses, num_tx_ant], tf.complex
        Antenna signals, E||x_tx||² = P.
    u : [batch_size, num_uses, num_rx_ant, num_streams], tf.complex
        Left singular vectors U_s (the receiver's combiner U_s^H).
    g : [batch_size, num_uses, num_streams], tf.float
        Per-stream gains sqrt(p_i) σ_i after U_s^H.
    """

    def __init__(self, num_streams: int, total_power: float = 1.0,
                 power_allocation: str = "equal", precision=None):
        super().__init__(precision=precision)
        if power_allocation not in ("equal", "waterfilling"):
            raise ValueError(f"power_allocation {power_allocation!r}; allowed: equal, waterfilling")
        self.num_streams, self.total_power = int(num_streams), float(total_power)
        self.power_allocation = power_allocation

    def call(self, x, h, no):
        sigma, u, v = tf.linalg.svd(h)            # h = u diag(sigma) v^H, sigma decreasing
        ns = self.num_streams
        sigma, u, v = sigma[..., :ns], u[..., :ns], v[..., :ns]
        if self.power_allocation == "equal":
            p = tf.fill(tf.shape(sigma), tf.constant(self.total_power / ns, self.rdtype))
        else:
            no = tf.reshape(tf.cast(no, self.rdtype), [-1, 1, 1])
            p = water_filling(sigma ** 2, no, self.total_power)
        amp = tf.cast(tf.sqrt(p), self.cdtype)
        x_tx = tf.linalg.matvec(v, amp * tf.cast(x, self.cdtype))
        return x_tx, u, tf.sqrt(p) * sigma


def _apply(channel: ChannelAWGN, x_tx, h, no):
    """y [B, U, N_R] = H x + n through the one channel block (uses laid out as subcarriers)."""
    x5 = tf.transpose(x_tx, [0, 2, 1])[:, None, :, None, :]              # [B, 1, N_T, 1, U]
    h7 = tf.transpose(h, [0, 2, 3, 1])[:, None, :, None, :, None, :]    # [B, 1, N_R, 1, N_T, 1, U]
    y = channel(x5, h7, no)                                              # [B, 1, N_R, 1, U]
    return tf.transpose(y[:, 0, :, 0], [0, 2, 1])


def svd_transceive(x, h, no, precoder: SVDPrecoder, channel: ChannelAWGN | None = None,
                   h_csi=None):
    """SVD streams through the channel: precode, y = H x + n, combine U_s^H y, detect.

    Input
    -----
    x : [batch_size, num_uses, num_streams], tf.complex
        Unit-energy stream symbols.
    h : [batch_size, num_uses, num_rx_ant, num_tx_ant], tf.complex
        The channel the signal propagates through.
    no : scalar or [batch_size], tf.float
        Noise variance N0 per receive antenna and channel use.
    precoder : SVDPrecoder
    channel : ChannelAWGN or None (a new one)
    h_csi : None or like ``h``
        The CSI both ends precode, combine and detect with (an estimate of
        ``h``; None: ``h`` itself, perfect CSI). With an estimate the streams
        leak into each other and the gains are the estimate's.

    Output
    ------
    x_hat : [batch_size, num_uses, num_streams], tf.complex
        r / g: the streams' symbols (0 where a stream has no power).
    no_eff : [batch_size, num_uses, num_streams], tf.float
        N0 / g²: noise variance of ``x_hat`` (huge where g = 0, so its LLRs vanish).
    x_tx : [batch_size, num_uses, num_tx_ant], tf.complex
        What was sent (for power checks).
    """
    channel = channel or ChannelAWGN(precision=precoder.precision)
    x_tx, u, g = precoder(x, h if h_csi is None else h_csi, no)
    y = _apply(channel, x_tx, h, no)
    r = tf.linalg.matvec(u, y, adjoint_a=True)                           # U_s^H y
    g2 = tf.maximum(g ** 2, tf.constant(1e-20, g.dtype))
    x_hat = r * tf.cast(g / g2, r.dtype)
    no_b = tf.reshape(tf.cast(no, g.dtype), [-1, 1, 1])
    return x_hat, no_b / g2, x_tx


class P2PLink(Block):
    """One slot of the coded point-to-point MIMO link: bits -> LDPC -> QAM -> SVD streams -> bits.

    One LDPC codeword per stream per slot fills the stream's ``num_uses``
    channel uses: n = num_uses * m, k = floor(n r) (``num_uses`` = the data
    REs of the grid, 12 N_f by default, as :class:`~linksim.phy.link.DownlinkLink`).

    Parameters
    ----------
    scenario : Scenario
        ``link: p2p_mimo``: arrays, channel, grid, ``p2p`` and ``precoder.power``.
    mcs : MCS
    coded : bool
        ``False`` bypasses LDPC (uncoded QAM, for theory checks).

    Input
    -----
    batch_size : int
    no : float or scalar (or [batch_size]) tf.float
        N0 per receive antenna and channel use (SNR = 1/N0; :meth:`noise_variance` for an Eb/N0).
    bits : None or [batch_size, 1, num_streams, k], tf.float
        Drawn uniformly at random when None.

    Output
    ------
    bits, bits_hat : [batch_size, 1, num_streams, k], tf.float
    """

    def __init__(self, scenario: Scenario, mcs: MCS, coded: bool = True, precision=None):
        super().__init__(precision=precision)
        self.scenario, self.mcs, self.coded = scenario, mcs, coded
        m = mcs.bits_per_symbol
        self.num_streams = num_streams(scenario)
        self.codewords_per_slot = self.num_streams
        self.power = transmit_power(scenario)
        self.channel = P2PMIMOChannel(scenario, precision=precision)
        self.num_uses = self.channel.num_uses
        self.n = self.num_uses * m
        self.k = math.floor(self.n * mcs.rate) if coded else self.n
        self.coderate = self.k / self.n
        self.source = BinarySource(precision=precision)
        self.mapper = Mapper("qam", m, precision=precision)
        self.precoder = SVDPrecoder(self.num_streams, self.power, scenario.p2p.power_allocation,
                                    precision=precision)
        self.apply_channel = ChannelAWGN(precision=precision)
        self.demapper = Demapper(scenario.receiver.demapping, "qam", m, precision=precision)
        if coded:
            self.encoder = LDPC5GEncoder(self.k, self.n, num_bits_per_symbol=m, precision=precision)
            self.decoder = LDPC5GDecoder(self.encoder, hard_out=True,
                                         num_iter=scenario.receiver.ldpc_iterations,
                                         precision=precision)

    def noise_variance(self, ebno_db) -> tf.Tensor:
        """N0 for ``ebno_db`` per information bit of one stream of energy P/N_s per use (no overhead)."""
        return no_from_ebno_db(ebno_db, self.mcs.bits_per_symbol, self.coderate,
                               energy_per_stream=self.power / self.num_streams,
                               precision=self.precision)

    def call(self, batch_size, no, bits=None):
        no = tf.cast(no, self.rdtype)
        if bits is None:
            bits = self.source([batch_size, 1, self.num_streams, self.k])
        c = self.encoder(bits) if self.coded else bits
        s = tf.transpose(self.mapper(c)[:, 0], [0, 2, 1])              # [B, U, N_s]
        h = self.channel(batch_size)                                     # [B, U, N_R, N_T]
        x_hat, no_eff, _ = svd_transceive(s, h, no, self.precoder, self.apply_channel)
        x_hat = tf.transpose(x_hat, [0, 2, 1])[:, None]                  # [B, 1, N_s, U]
        no_eff = tf.transpose(no_eff, [0, 2, 1])[:, None]
        llr = self.demapper(x_hat, no_eff)                               # [B, 1, N_s, n]
        bits_hat = self.decoder(llr) if self.coded else tf.cast(llr > 0, bits.dtype)
        return bits, bits_hat
