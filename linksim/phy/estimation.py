"""Channel estimators at the UE, by registry key (``receiver.estimator``).

The UE estimates the *effective* (precoded) channel of every stream from the
precoded pilots; it never sees the raw MIMO channel.
"""
from __future__ import annotations

import tensorflow as tf
from sionna.phy import Block
from sionna.phy.ofdm import LSChannelEstimator, ResourceGrid

from linksim.config import Scenario
from linksim.registry import ESTIMATORS



class Estimator(Block):
    """Base class. Build as ``cls(scenario, resource_grid)``.

    Input
    -----
    y : [batch_size, num_users, 1, num_ofdm_symbols, fft_size], tf.complex
        Received grids.
    no : scalar or [batch_size], tf.float
        Noise variance.
    h_eff : [batch_size, num_users, 1, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
        True effective channel (only the genie estimator may use it).

    Output
    ------
    h_hat : [batch_size, num_users, 1, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
        Estimated effective channel of every stream at every user.
    err_var : tf.float, broadcastable to ``h_hat``
        Estimation error variance.
    """


@ESTIMATORS.register("ls")
class LS(Estimator):
    """Least squares on the pilots + interpolation (``receiver.interpolation``; Sionna)."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)
        self._ls = LSChannelEstimator(
            resource_grid, interpolation_type=scenario.receiver.interpolation, precision=precision
        )

    def call(self, y, no, h_eff):
        return self._ls(y, no)


@ESTIMATORS.register("perfect")
class Perfect(Estimator):
    """Genie: the true effective channel, zero error (perfect CSI)."""

    def __init__(self, scenario: Scenario, resource_grid: ResourceGrid, precision=None):
        super().__init__(precision=precision)

    def call(self, y, no, h_eff):
        return h_eff, tf.zeros([], self.rdtype)
