"""MIMO-OFDM equalisers at the UE, by registry key (``receiver.equalizer``).

Thin registry over Sionna's OFDM equalisers; each is built as
``cls(resource_grid, stream_management)``.

Input
-----
y : [batch_size, num_users, 1, num_ofdm_symbols, fft_size], tf.complex
h_hat : [batch_size, num_users, 1, 1, num_users, num_ofdm_symbols, fft_size], tf.complex
err_var : broadcastable to ``h_hat``, tf.float
no : scalar or [batch_size, num_users, 1], tf.float

Output
------
x_hat : [batch_size, 1, num_users, num_data_symbols], tf.complex
    Each user's own stream, equalised (other streams treated as interference).
no_eff : [batch_size, 1, num_users, num_data_symbols], tf.float
    Post-equalisation noise-plus-interference variance, for the demapper.
"""
from sionna.phy.ofdm import LMMSEEqualizer, MFEqualizer, ZFEqualizer

from linksim.registry import EQUALIZERS

EQUALIZERS.register("lmmse", "linear MMSE, interference whitened (Sionna LMMSEEqualizer)")(LMMSEEqualizer)
EQUALIZERS.register("zf", "zero forcing (Sionna ZFEqualizer)")(ZFEqualizer)
EQUALIZERS.register("mf", "matched filter (Sionna MFEqualizer)")(MFEqualizer)
