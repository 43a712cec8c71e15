"""The coded MU-MIMO OFDM downlink, bits in -> bits out, as one Sionna block.

Chain (seed 003 section IV, the SSCC transport):

    bits -> 5G LDPC encoder -> QAM mapper -> resource grid (+ Kronecker pilots)
         -> precoder (from the BS's CSI: H, or Ĥ from sounding pilots)
         -> channel (38.901 ...) + AWGN (:class:`~linksim.phy.channel_apply.ChannelAWGN`)
         -> per-UE estimation of the effective channel -> equaliser
         -> APP demapper -> 5G LDPC decoder -> bits

Everything is TensorFlow, so the whole step compiles into one graph (and
XLA where it compiles), and later learned models can reuse the pieces. The
link is driven by N0 (:mod:`linksim.phy.noise`); :meth:`DownlinkLink.noise_variance`
gives the N0 of an Eb/N0 for the BLER experiment, which sweeps Eb/N0.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy import Block
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import BinarySource, Demapper, Mapper
from sionna.phy.ofdm import ResourceGridMapper

from linksim.config import MCS, ConfigError, Scenario
from linksim.phy.bs_csi import bs_csi
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.channels import CHANNELS
from linksim.phy.coding import codeword_size
from linksim.phy.equalization import EQUALIZERS
from linksim.phy.estimation import ESTIMATORS
from linksim.phy.noise import no_from_ebno_db
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS, transmit_power


class DownlinkLink(Block):
    """One slot of the coded downlink to ``num_users`` single-antenna UEs.

    Parameters
    ----------
    scenario : Scenario
        Grid, channel, arrays, precoder and receiver settings.
    mcs : MCS
        QAM order and LDPC code rate (one codeword per user per slot).
    coded : bool
        ``False`` bypasses LDPC (uncoded bits straight onto QAM; for theory checks).

    Input
    -----
    batch_size : int
        Number of slots.
    no : float or scalar (or [batch_size]) tf.float
        Noise variance N0 per complex RE at every UE (SNR = 1/N0,
        :mod:`linksim.phy.noise`); :meth:`noise_variance` gives it for an Eb/N0.
    bits : None or [batch_size, 1, num_users, k], tf.float
        Information bits to send; drawn uniformly at random when None.

    Output
    ------
    bits : [batch_size, 1, num_users, k], tf.float
        Transmitted information bits.
    bits_hat : [batch_size, 1, num_users, k], tf.float
        Decoded information bits (hard decisions).
    """

    def __init__(self, scenario: Scenario, mcs: MCS, coded: bool = True, precision=None):
        super().__init__(precision=precision)
        if scenario.link != "mu_mimo_downlink":
            raise ConfigError(f"link: {scenario.link!r} -- this experiment runs only on link: "
                              f"mu_mimo_downlink (DownlinkLink) so far")
        self.scenario, self.mcs, self.coded = scenario, mcs, coded
        self.codewords_per_slot = scenario.ue.num_users
        m = mcs.bits_per_symbol
        self.resource_grid = rg = resource_grid(scenario, precision)
        sm = downlink_streams(scenario.ue.num_users)
        self.k, self.n = codeword_size(rg, mcs)
        if not coded:
            self.k = self.n
        self.coderate = self.k / self.n

        self.source = BinarySource(precision=precision)
        self.mapper = Mapper("qam", m, precision=precision)
        self.rg_mapper = ResourceGridMapper(rg, precision=precision)
        self.channel = CHANNELS[scenario.channel.model](scenario, rg, precision=precision)
        self.precoder = PRECODERS[scenario.precoder.name](scenario, rg, sm, precision=precision)
        self.bs_csi = bs_csi(scenario, rg, precision=precision)
        self.apply_channel = ChannelAWGN(precision=precision)
        rx = scenario.receiver
        estimator = "perfect" if rx.csi == "perfect" else rx.estimator
        self.estimator = ESTIMATORS[estimator](scenario, rg, precision=precision)
        self.equalizer = EQUALIZERS[rx.equalizer](rg, sm, precision=precision)
        self.demapper = Demapper(rx.demapping, "qam", m, precision=precision)
        if coded:
            self.encoder = LDPC5GEncoder(self.k, self.n, num_bits_per_symbol=m, precision=precision)
            self.decoder = LDPC5GDecoder(self.encoder, hard_out=True,
                                         num_iter=rx.ldpc_iterations, precision=precision)

    def noise_variance(self, ebno_db) -> tf.Tensor:
        """N0 for ``ebno_db``: Eb/N0 per information bit of one user's stream.

        Sionna's ``ebnodb2no`` with the resource grid (pilot and cyclic-prefix
        overhead counted), scaled by the transmit power P of ``precoder.power``
        because Sionna assumes the streams share P = 1 (each stream has energy
        P/K per RE, :func:`linksim.phy.noise.no_from_ebno_db`).
        """
        return transmit_power(self.scenario) * no_from_ebno_db(
            ebno_db, self.mcs.bits_per_symbol, self.coderate, self.resource_grid,
            precision=self.precision)

    def call(self, batch_size, no, bits=None):
        num_users = self.scenario.ue.num_users
        no = tf.cast(no, self.rdtype)
        if bits is None:
            bits = self.source([batch_size, 1, num_users, self.k])
        c = self.encoder(bits) if self.coded else bits
        x = self.rg_mapper(self.mapper(c))                    # [B, 1, K, S, F]
        h = self.channel(batch_size)                          # [B, K, 1, 1, M, S, F]
        h_bs, _ = self.bs_csi(h, no)                          # what the BS precodes from
        x_tx, h_eff = self.precoder.precode(x, h_bs, no, h)   # [B, 1, M, S, F], H G(h_bs)
        y = self.apply_channel(x_tx, h, no)                   # [B, K, 1, S, F]
        h_hat, err_var = self.estimator(y, no, h_eff)
        x_hat, no_eff = self.equalizer(y, h_hat, err_var, no)  # [B, 1, K, N_data]
        llr = self.demapper(x_hat, no_eff)
        bits_hat = self.decoder(llr) if self.coded else tf.cast(llr > 0, bits.dtype)
        return bits, bits_hat


def build_link(scenario: Scenario, mcs: MCS, coded: bool = True, precision=None) -> Block:
    """The coded link of ``scenario.link``: :class:`DownlinkLink` or :class:`~linksim.phy.p2p.P2PLink`.

    Both take ``(batch_size, no, bits=None)`` and return ``(bits, bits_hat)`` of
    shape [batch_size, 1, codewords_per_slot, k], and have ``k``, ``n``,
    ``codewords_per_slot`` and ``noise_variance(ebno_db)``.
    """
    if scenario.link == "p2p_mimo":
        from linksim.phy.p2p import P2PLink

        return P2PLink(scenario, mcs, coded, precision=precision)
    return DownlinkLink(scenario, mcs, coded, precision=precision)
