"""CSI at the BS: the channel estimate Ĥ the precoder is built from (``precoder.csi``).

``precoder.csi: perfect`` (default, seed 003's assumption): the BS precodes
from the true channel H. ``estimated``: it precodes from an estimate Ĥ of
the downlink channel obtained from ``precoder.csi_pilots`` = L sounding pilot
OFDM symbols (seed 000), while the signal still propagates through H, so
h_eff = H G(Ĥ) and imperfect CSI leaves inter-user interference.

Sounding model (written here; Sionna has no BS-side sounding block): on each
of L pilot OFDM symbols every BS antenna sends a pilot of energy p per RE,
the antennas' pilot sequences being orthogonal over the L symbols and the
subcarriers of a small sounding comb (a DFT / identity cover code; equivalently
uplink sounding from every UE antenna in TDD with reciprocity, calibrated).
The receiver's noise has variance N0_s per RE, with N0_s the data N0
(``precoder.csi_snr_db: null``) or 10^(-csi_snr_db/10). Despreading the L
orthogonal pilots gives, per RE and per antenna pair, the LS estimate

    Ĥ_LS = H + E,   E ~ CN(0, σ_e²) i.i.d.,   σ_e² = N0_s / (L p),

an error variance falling as 1/L; p is the per-antenna power of
``precoder.power`` (1 for ``per_antenna``, 1/N_m for ``total``). The
estimate is assumed fed back (or known by reciprocity) without further
error or delay. The LMMSE variant scales it with the per-link channel energy
σ_h² (the second-order statistic the BS is assumed to know; 1 with
``channel.normalize``):

    Ĥ_LMMSE = σ_h² / (σ_h² + σ_e²) · (H + E),   error variance σ_h² σ_e² / (σ_h² + σ_e²).

``sounding`` runs the full-array pilot model of :mod:`linksim.phy.sounding`
instead (the ``sounding`` section: L < N_t pilots, LS / LMMSE / OMP, the
estimators of seed 000 and of the JSCBF system), so a classical baseline
precodes from the same estimate as the learned system it is compared with.
A new estimator is a subclass plus one ``@BS_ESTIMATORS.register`` line.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy import Block
from sionna.phy.ofdm import ResourceGrid
from sionna.phy.utils import complex_normal, expand_to_rank

from linksim.config import Scenario
from linksim.phy.noise import snr_db_to_no
from linksim.phy.precoding import transmit_power
from linksim.phy.sounding import channel_matrix, scenario_pilots, sound
from linksim.registry import BS_ESTIMATORS, SOUNDING_ESTIMATORS


class BSChannelEstimator(Block):
    """Base class. Build as ``cls(scenario, resource_grid)``.

    Input
    -----
    h : [batch_size, num_users, num_rx_ant, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex
        True downlink channel.
    no : scalar or [batch_size], tf.float
        Data noise variance N0 (the sounding's N0_s unless ``precoder.csi_snr_db`` is set).

    Output
    ------
    h_hat : same shape and dtype as ``h``
        The channel the BS precodes from.
    err_var : tf.float, broadcastable to ``h``
        Variance of the estimation error per entry.
    """

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid | None = None,
                 precision=None):
        super().__init__(precision=precision)
        pre = scenario.precoder
        self.num_pilots = pre.csi_pilots
        self.pilot_power = transmit_power(scenario) / scenario.bs.array.num_ant
        self._csi_no = None if pre.csi_snr_db is None else snr_db_to_no(pre.csi_snr_db)

    def error_variance(self, h, no) -> tf.Tensor:
        """σ_e² = N0_s / (L p), broadcastable to ``h`` (module docstring)."""
        no_s = tf.cast(no if self._csi_no is None else self._csi_no, self.rdtype)
        no_s = expand_to_rank(no_s, 7, axis=-1)
        return no_s / (self.num_pilots * self.pilot_power)

    def ls(self, h, no) -> tuple[tf.Tensor, tf.Tensor]:
        """Ĥ = H + E, E ~ CN(0, σ_e²); one complex normal draw of ``h``'s shape."""
        err_var = self.error_variance(h, no)
        e = complex_normal(tf.shape(h), precision=self.precision)
        return h + tf.cast(tf.sqrt(err_var), self.cdtype) * e, err_var


@BS_ESTIMATORS.register("ls")
class LSSounding(BSChannelEstimator):
    """LS from L orthogonal sounding pilots: Ĥ = H + E, error variance N0_s / (L p)."""

    def call(self, h, no):
        return self.ls(h, no)


@BS_ESTIMATORS.register("lmmse")
class LMMSESounding(BSChannelEstimator):
    """Per-entry LMMSE of the LS estimate: Ĥ = σ_h²/(σ_h²+σ_e²) (H + E), σ_h² the link's mean energy."""

    def call(self, h, no):
        h_ls, err_var = self.ls(h, no)
        # σ_h²: mean energy of each (slot, user, rx antenna) link over the BS antennas and the grid
        var_h = tf.reduce_mean(tf.abs(h) ** 2, axis=[3, 4, 5, 6], keepdims=True)
        w = var_h / (var_h + err_var)
        return tf.cast(w, self.cdtype) * h_ls, w * err_var


@BS_ESTIMATORS.register("sounding")
class PilotSounding(BSChannelEstimator):
    """Full-array pilot sounding of :mod:`linksim.phy.sounding` (``sounding`` section; seed 000).

    The BS sends ``sounding.num_pilots`` = L pilot OFDM symbols, the columns
    of :func:`~linksim.phy.sounding.scenario_pilots` (L < N_t allowed), each
    UE feeds back what it received and the BS estimates H with
    ``sounding.estimator`` (ls, lmmse, omp), at N0_s (the data N0, or
    ``precoder.csi_snr_db``); ``precoder.csi_pilots`` is not used. The
    estimate is taken on the first OFDM symbol and held over the slot (the
    sparse multipath model is static over a slot; a 38.901 channel with
    mobility then also ages within the slot). Single-antenna UEs. The error
    variance is not known in closed form for OMP: ``err_var`` is 0, so a
    precoder regularised by it (RZF's alpha = N0 + err_var) uses N0 alone.
    """

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid | None = None,
                 precision=None):
        super().__init__(scenario, resource_grid, precision=precision)
        if scenario.ue.array.num_ant != 1:
            raise ValueError("precoder.csi_estimator: sounding needs single-antenna UEs "
                             f"(ue.array has {scenario.ue.array.num_ant})")
        self._pilots = tf.constant(scenario_pilots(scenario), self.cdtype)
        self._estimator = SOUNDING_ESTIMATORS[scenario.sounding.estimator](
            scenario, self._pilots, precision=precision)

    def call(self, h, no):
        no_s = tf.cast(no if self._csi_no is None else self._csi_no, self.rdtype)
        no_s = tf.reshape(no_s, [-1, 1, 1, 1])                              # [B or 1, 1, 1, 1]
        h_hat = self._estimator(sound(channel_matrix(h), self._pilots, no_s), no_s)  # [B, K, F, M]
        h_hat = tf.transpose(h_hat, [0, 1, 3, 2])[:, :, None, None, :, None, :]      # [B, K, 1, 1, M, 1, F]
        return tf.broadcast_to(h_hat, tf.shape(h)), tf.zeros([], self.rdtype)


class PerfectCSI(BSChannelEstimator):
    """``precoder.csi: perfect``: Ĥ = H, zero error (not a registry entry: no estimator runs)."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid | None = None,
                 precision=None):
        Block.__init__(self, precision=precision)

    def call(self, h, no):
        return h, tf.zeros([], self.rdtype)


def bs_csi(scenario: Scenario, resource_grid: ResourceGrid | None = None,
           precision=None) -> BSChannelEstimator:
    """The BS's CSI block for ``scenario.precoder`` (:class:`PerfectCSI` or a registered estimator)."""
    pre = scenario.precoder
    if pre.csi == "perfect":
        return PerfectCSI(scenario, resource_grid, precision=precision)
    return BS_ESTIMATORS[pre.csi_estimator](scenario, resource_grid, precision=precision)
