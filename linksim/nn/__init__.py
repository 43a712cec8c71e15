"""Learned layers that several systems share (below :mod:`linksim.systems`, above :mod:`linksim.phy`).

- :mod:`~linksim.nn.norm`: fused batch normalisation;
- :mod:`~linksim.nn.conditioning`: SNR features for noise-adaptive gates;
- :mod:`~linksim.nn.scenario_layer`: layers configured by a scenario (saved with it);
- :mod:`~linksim.nn.channel`: the channel in the training loop and the channel samplers;
- :mod:`~linksim.nn.swin`: Swin Transformer blocks (windows, shifted windows, merging, splitting);
- :mod:`~linksim.nn.transformer`: a transformer encoder over a sequence (e.g. subcarriers);
- :mod:`~linksim.nn.power`: transmit power normalisation (seed 000 eq. 29, unit mean power);
- :mod:`~linksim.nn.losses`: differentiable MS-SSIM for training losses;
- :mod:`~linksim.nn.npn`: seed 002's noise purified network, a learned P2P MIMO channel
  estimator (registered as ``npn`` in :data:`linksim.registry.P2P_ESTIMATORS` on import).
"""
from linksim.nn import npn  # noqa: E402,F401  (registers "npn")
