"""Downlink precoders, by registry key (the YAML's ``precoder.name``).

Every precoder works from the channel it is given -- the true channel
(``precoder.csi: perfect``, seed 003's assumption) or the BS's estimate
(``estimated``, :mod:`linksim.phy.bs_csi`) -- and returns the effective
channel seen by every user, which is what the UE estimates from the precoded
pilots and what perfect-CSI mode hands to the equaliser. With an estimate,
:meth:`Precoder.precode` returns the *true* effective channel H G(Ĥ).

Power (``precoder.power``), with SNR = 1/N0 per UE receive RE throughout:

- ``per_antenna`` (default): E|x|^2 = 1 on every BS antenna and RE, i.e. a
  total of ``num_bs_ant`` per RE shared equally by the K streams. This is
  seed 003's E[|X|^2] <= P (eq. 9, P = 1, the mean over the transmitted
  tensor), and for K = M it is Sionna's own convention (unit-norm precoding
  columns, unit-energy symbols), under which alpha = N0 is the MMSE
  regulariser of RZF and Eb/N0 is per stream.
- ``total``: the antennas share power 1 per RE (each stream 1/K), 10 log10(M)
  dB less signal at the same SNR.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy import Block
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import ResourceGrid, RZFPrecoder

from linksim.config import Scenario
from linksim.registry import PRECODERS



def transmit_power(scenario: Scenario) -> float:
    """Total BS transmit power per resource element under ``precoder.power`` (module docstring)."""
    return float(scenario.bs.array.num_ant) if scenario.precoder.power == "per_antenna" else 1.0


class Precoder(Block):
    """Base class. Build as ``cls(scenario, resource_grid, stream_management)``.

    Input
    -----
    x : [batch_size, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
        One unit-energy stream per user on the resource grid.
    h : [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex
        True downlink channel.
    no : scalar or [batch_size], tf.float
        Noise variance (used by RZF's default regulariser).

    Output
    ------
    x_precoded : [batch_size, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex
        Antenna signals, E[sum |x|^2] = :func:`transmit_power` per resource element.
    h_eff : [batch_size, num_users, 1, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
        Effective channel from every stream to every user after precoding.
    """

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid,
                 stream_management: StreamManagement, precision=None):
        super().__init__(precision=precision)
        # unit-energy streams -> each stream gets transmit_power / K
        self._scale = tf.cast((transmit_power(scenario) / scenario.ue.num_users) ** 0.5, self.cdtype)

    def precode(self, x, h_csi, no, h_true=None):
        """Precode from ``h_csi``, propagate through ``h_true``: ``(x_precoded, h_eff)``, h_eff = H G(Ĥ).

        ``h_true`` None (or ``h_csi`` itself): perfect CSI, exactly ``self(x, h_csi, no)``.
        Shapes as :class:`Precoder` (``h_csi`` and ``h_true`` both like ``h``).
        """
        x_precoded, h_eff = self(x, h_csi, no)
        if h_true is None or h_true is h_csi:
            return x_precoded, h_eff
        g = self.precoding_matrix(h_csi, no)                       # [B, M, K, S, F]
        h_eff = tf.einsum("bkmsf,bmjsf->bkjsf", h_true[:, :, 0, 0], g)
        return x_precoded, h_eff[:, :, None, None]

    def precoding_matrix(self, h, no) -> tf.Tensor:
        """G [batch_size, num_bs_ant, num_users, num_ofdm_symbols, fft_size] with x_precoded = G x per RE.

        Generic for any linear precoder (written here, not in Sionna): the K
        unit streams e_j are precoded at once along the batch axis (one call
        of K times the batch), so G includes the power scaling.
        """
        shape = tf.shape(h)
        b, k, s, f = shape[0], h.shape[1], shape[5], shape[6]
        eye = tf.eye(k, dtype=self.cdtype)[:, None, None, :, None, None]          # [K(j), 1, 1, K, 1, 1]
        x = tf.reshape(tf.broadcast_to(eye, tf.stack([k, b, 1, k, s, f])), tf.stack([k * b, 1, k, s, f]))
        h_rep = tf.reshape(tf.tile(h[None], [k, 1, 1, 1, 1, 1, 1, 1]),
                           tf.concat([[k * b], shape[1:]], 0))
        no = tf.cast(no, self.rdtype)
        no = no if no.shape.rank == 0 else tf.tile(no, [k])
        x_tx, _ = self(x, h_rep, no)                                              # [K*B, 1, M, S, F]
        x_tx = tf.reshape(x_tx, tf.stack([k, b, tf.shape(x_tx)[2], s, f]))
        return tf.transpose(x_tx, [1, 2, 0, 3, 4])


@PRECODERS.register("rzf")
class RZF(Precoder):
    """Regularised zero forcing V = H^H (H H^H + alpha I)^-1, unit-norm columns (Sionna).

    ``precoder.alpha``: fixed regulariser, or None for the noise variance.
    """

    def __init__(self, scenario, resource_grid, stream_management, precision=None):
        super().__init__(scenario, resource_grid, stream_management, precision)
        self._alpha = scenario.precoder.alpha
        self._rzf = RZFPrecoder(resource_grid, stream_management,
                                return_effective_channel=True, precision=precision)

    def regulariser(self, no: tf.Tensor) -> tf.Tensor:
        """alpha as [batch_size or 1, 1, 1, 1] for Sionna's RZFPrecoder."""
        alpha = no if self._alpha is None else tf.constant(self._alpha, self.rdtype)
        return tf.reshape(tf.cast(alpha, self.rdtype), [-1, 1, 1, 1])

    def call(self, x, h, no):
        x_precoded, h_eff = self._rzf(x, h, self.regulariser(no))
        return x_precoded * self._scale, h_eff * self._scale


@PRECODERS.register("zf")
class ZF(RZF):
    """Zero forcing: RZF with alpha = 0 (fails on rank-deficient channels)."""

    def regulariser(self, no):
        return tf.zeros([1, 1, 1, 1], self.rdtype)


@PRECODERS.register("none")
class NoPrecoding(Precoder):
    """Stream k on BS antenna k, no spatial processing (needs num_users <= num_bs_ant)."""

    def __init__(self, scenario, resource_grid, stream_management, precision=None):
        super().__init__(scenario, resource_grid, stream_management, precision)
        self._num_users = scenario.ue.num_users
        self._num_ant = scenario.bs.array.num_ant

    def call(self, x, h, no):
        pad = [[0, 0], [0, 0], [0, self._num_ant - self._num_users], [0, 0], [0, 0]]
        x_precoded = tf.pad(tf.cast(x, self.cdtype), pad) * self._scale
        h_eff = h[:, :, :, :, : self._num_users] * self._scale
        return x_precoded, h_eff
