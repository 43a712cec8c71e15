"""The one noise convention of the physical layer: every block is driven by N0.

Every link in :mod:`linksim.phy` takes the noise variance N0 per complex
resource element (channel use) at the receiver. With normalised channels and
the transmit power of ``precoder.power`` (:func:`linksim.phy.precoding.transmit_power`),

    SNR = 1 / N0   per receive RE,   i.e.   N0 = 10^(-SNR_dB / 10)

(:func:`snr_db_to_no`, the one place this formula lives). Eb/N0 is only a
*label* of a point: the BLER experiment sweeps Eb/N0, converts it once per
point into N0 with :func:`no_from_ebno_db` and reports Eb/N0 next to it;
:func:`ebno_db_from_no` is the inverse, for reporting the Eb/N0 of an SNR.

Eb/N0 convention (Sionna's ``ebnodb2no``): energy per information bit of one
stream, counting pilot and cyclic-prefix overhead when a resource grid is
given, for streams of unit energy; a stream that carries energy ``es`` per RE
(P/K in the MU-MIMO downlink) has N0 scaled by ``es``.
"""
from __future__ import annotations

import math

import tensorflow as tf
from sionna.phy.utils import ebnodb2no


def snr_db_to_no(snr_db):
    """N0 = 10^(-SNR/10): noise variance per complex RE for SNR = 1/N0 in dB.

    Input
    -----
    snr_db : float | np.ndarray | tf.Tensor (tf.float)
        SNR per resource element [dB].

    Output
    ------
    no : same type (and shape) as ``snr_db``
        A Python float (computed in float64) for a float, a tensor of the same
        dtype for a tensor (``tf.pow(10, -snr/10)``).
    """
    if isinstance(snr_db, (tf.Tensor, tf.Variable)):
        return tf.pow(tf.constant(10.0, snr_db.dtype), -snr_db / 10.0)
    return 10.0 ** (-snr_db / 10.0)


def no_from_ebno_db(ebno_db, num_bits_per_symbol: int, coderate: float, resource_grid=None,
                    energy_per_stream: float = 1.0, precision=None) -> tf.Tensor:
    """N0 at which a stream of ``energy_per_stream`` per RE runs at ``ebno_db`` (Sionna's convention).

    ``energy_per_stream * ebnodb2no(ebno_db, m, r, resource_grid)``: Sionna's
    ``ebnodb2no`` counts the grid's pilot and CP overhead (None: none) and
    assumes unit-energy streams.

    Input
    -----
    ebno_db : float or scalar tf.float
    num_bits_per_symbol, coderate : int, float
    resource_grid : None | sionna.phy.ofdm.ResourceGrid
    energy_per_stream : float
        Energy of one stream per RE (P/K in the MU-MIMO downlink, P/N_s in the
        P2P link).

    Output
    ------
    no : scalar tf.float
    """
    return energy_per_stream * ebnodb2no(ebno_db, num_bits_per_symbol, coderate, resource_grid,
                                         precision=precision)


def ebno_db_from_no(no: float, no_at_0db: float) -> float:
    """Eb/N0 [dB] label of a point driven at ``no``, for a link with N0 = ``no_at_0db`` at 0 dB.

    Sionna's convention is N0 = c / (Eb/N0) with c = N0 at Eb/N0 = 0 dB (a
    function of the MCS, grid and stream energy only, :func:`no_from_ebno_db`
    at 0 dB), so Eb/N0 [dB] = 10 log10(c / N0); for N0 = :func:`snr_db_to_no`
    (SNR) this is SNR [dB] + 10 log10 c.
    """
    return 10.0 * math.log10(float(no_at_0db) / float(no))
