"""Learned layers that several systems share (below :mod:`linksim.systems`, above :mod:`linksim.phy`).

- :mod:`~linksim.nn.norm`: fused batch normalisation;
- :mod:`~linksim.nn.conditioning`: SNR features for noise-adaptive gates;
- :mod:`~linksim.nn.scenario_layer`: layers configured by a scenario (saved with it);
- :mod:`~linksim.nn.channel`: the channel in the training loop and the channel samplers.
"""
