"""The channel in the training loop: per-RE MU-MIMO OFDM channel plus AWGN, and channel draws.

:class:`OFDMChannel` is the differentiable part of the model: every user
receives y_k = sum_m h_km x_m + n on every resource element (the physical
layer's one channel-plus-AWGN block, :class:`linksim.phy.channel_apply.ChannelAWGN`,
so it draws the same noise as the SSCC link), gradients flow to x (the
precoder, hence the encoder).

The channel realisations and noise levels are *training data*, not model
state, so they come from a :class:`ChannelSampler` that the training step
calls and that is not saved with the model:

- :class:`OnlineChannels` draws from ``linksim.phy.CHANNELS`` inside the
  graph: one of the listed scenarios (UMi, UMa, RMa, ...) per batch, chosen at
  random, with a new 38.901 single-sector topology per batch -- seed 003's
  training set-up, exactly;
- :class:`ChannelBank` draws slots from a bank generated once with the same
  registry (cached on disk, e.g. ``~/.cache/linksim/channel_banks``) and held
  in memory; each slot of a batch is picked independently, so the scenarios
  are mixed within and across batches. Faster than generating 38.901 channels
  at every step, at the price of a finite set of realisations (the bank's
  size is part of its cache key and of what a result should report).

Both are link-aware: for ``link: p2p_mimo`` they draw one narrowband
N_R x N_T matrix per slot (:class:`linksim.phy.p2p.P2PBlockFading`, i.i.d.
Rayleigh or a registered 38.901/CDL model) instead of the OFDM downlink's
per-RE responses (:func:`channel_block`).

Both draw the SNR per slot uniformly in dB from ``snr_db`` and return the
noise variance N0 = 10^(-SNR/10): with normalised channels and the transmit
power of ``precoder.power``, SNR = 1/N0 per RE, the definition of the SSCC
experiment (:mod:`linksim.phy.sinr`).
"""
from __future__ import annotations

import hashlib
import math
import json
from pathlib import Path

import keras
import numpy as np
import sionna
import tensorflow as tf

from linksim.config import Scenario
from linksim.config.schema import SemanticConfig
from linksim.nn.scenario_layer import scenario_config
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.channels import CHANNELS
from linksim.phy.noise import snr_db_to_no
from linksim.phy.ofdm import resource_grid
from linksim.phy.p2p import P2PBlockFading
from linksim.runtime import compiled
from linksim.seeding import derived_seed

DEFAULT_CACHE = Path.home() / ".cache" / "linksim" / "channel_banks"


@keras.saving.register_keras_serializable("linksim")
class OFDMChannel(keras.layers.Layer):
    """Frequency-domain MU-MIMO channel with AWGN, differentiable with respect to x.

    Input
    -----
    x : [batch_size, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex64
        Precoded antenna signals.
    h : [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size], tf.complex64
        Channel frequency response.
    no : [batch_size], tf.float32
        Noise variance per complex RE of each slot.

    Output
    ------
    y : [batch_size, num_users, num_ofdm_symbols, fft_size], tf.complex64
        What every user's single antenna receives.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._apply = ChannelAWGN()

    def call(self, x: tf.Tensor, h: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        return self._apply(x, h, no)[:, :, 0]


class ChannelSampler:
    """Base: ``sampler(batch_size) -> (h, no)`` inside a compiled step.

    Parameters
    ----------
    scenario : Scenario
        Grid, arrays, channel options and users.
    names : sequence of str
        Keys of ``linksim.phy.CHANNELS`` to mix (default: UMi, UMa, RMa).
    snr_db : (float, float)
        Training SNR range in dB, drawn uniformly per slot.

    Output (``__call__``)
    ---------------------
    h : tf.complex64
        ``mu_mimo_downlink``: [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size];
        ``p2p_mimo``: [batch_size, num_rx_ant, num_tx_ant] (one matrix per slot).
    no : [batch_size], tf.float32
    """

    def __init__(self, scenario: Scenario, names: tuple[str, ...] = ("umi", "uma", "rma"),
                 snr_db: tuple[float, float] = (-7.0, 7.0)) -> None:
        self.scenario = scenario
        self.names = tuple(names)
        self.snr_db = (float(snr_db[0]), float(snr_db[1]))

    def noise_variance(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        """N0 [batch_size], tf.float32, for SNRs uniform in ``snr_db``."""
        snr = sionna.phy.config.tf_rng.uniform([batch_size], *self.snr_db)
        return snr_db_to_no(snr)

    def channel(self, batch_size: int | tf.Tensor) -> tf.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, batch_size: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return self.channel(batch_size), self.noise_variance(batch_size)


class OnlineChannels(ChannelSampler):
    """Fresh 38.901 channels every batch; the scenario of each batch is drawn uniformly from ``names``."""

    def __init__(self, scenario: Scenario, names: tuple[str, ...] = ("umi", "uma", "rma"),
                 snr_db: tuple[float, float] = (-7.0, 7.0)) -> None:
        super().__init__(scenario, names, snr_db)
        # each model its own tf.function, converted by AutoGraph: Keras traces train_step with
        # AutoGraph off, and Sionna's 38.901 topology code branches in Python on tensors
        self._models = [tf.function(channel_block(scenario, n)) for n in self.names]

    def channel(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        if len(self._models) == 1:
            return self._models[0](batch_size)
        pick = sionna.phy.config.tf_rng.uniform([], 0, len(self._models), dtype=tf.int32)
        return tf.switch_case(pick, [lambda m=m: m(batch_size) for m in self._models])


class ChannelBank(ChannelSampler):
    """Channels drawn from a pre-generated in-memory bank (see module docstring).

    Parameters
    ----------
    scenario, names, snr_db
        As :class:`ChannelSampler`.
    size : int
        Slots generated per scenario name. Memory: ``len(names) * size *
        K * M * 14 * N_f * 8`` bytes (3 x 1024 slots: 176 MB at N_f = 32,
        705 MB at N_f = 128).
    seed : int
        Scenario ``name`` is generated after ``sionna.phy.config.seed =
        derived_seed(seed, "channel-bank", name)`` (this reseeds Sionna's global
        generator, as every linksim experiment does).
    cache_dir : Path or None
        Where ``<hash>.npy`` banks are kept; the hash covers everything the
        channels depend on (grid, arrays, channel options, names, size, seed,
        Sionna version). None: generate, do not cache.
    """

    def __init__(self, scenario: Scenario, names: tuple[str, ...] = ("umi", "uma", "rma"),
                 snr_db: tuple[float, float] = (-7.0, 7.0), size: int = 1024, seed: int = 0,
                 cache_dir: Path | None = DEFAULT_CACHE) -> None:
        super().__init__(scenario, names, snr_db)
        self.size = size
        self.seed = seed
        bank = self._load_or_generate(cache_dir)
        # a plain tf.Variable, invisible to Keras: the bank is never written into a .keras file
        self.bank = tf.Variable(bank, trainable=False, name="channel_bank")

    def cache_key(self) -> str:
        """Hash of everything the bank's contents depend on."""
        sc = scenario_config(self.scenario)
        key = {k: sc[k] for k in ("ofdm", "channel", "bs", "ue", "runtime")}
        key.update({k: sc[k] for k in ("link",) if k in sc})  # dumped only when not the downlink
        key.update(names=self.names, size=self.size, seed=self.seed,
                   sionna=sionna.__version__)
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def _load_or_generate(self, cache_dir: Path | None) -> np.ndarray:
        path = None if cache_dir is None else Path(cache_dir) / f"{self.cache_key()}.npy"
        if path is not None and path.is_file():
            return np.load(path)
        bank = np.concatenate([self._generate(n) for n in self.names])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, bank)
            tmp.replace(path)
        return bank

    def _generate(self, name: str, chunk: int = 128) -> np.ndarray:
        """[size, K, M, S, F] (P2P: [size, N_R, N_T]) complex64 slots of channel ``name``."""
        draw = compiled(channel_block(self.scenario, name), self.scenario.runtime.mode)
        sionna.phy.config.seed = derived_seed(self.seed, "channel-bank", name)
        p2p = self.scenario.link == "p2p_mimo"
        parts, left = [], self.size
        while left > 0:
            n = min(chunk, left)
            h = draw(chunk)
            parts.append((h if p2p else h[:, :, 0, 0])[:n].numpy())
            left -= n
        return np.concatenate(parts).astype(np.complex64)

    def channel(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        idx = sionna.phy.config.tf_rng.uniform([batch_size], 0, tf.shape(self.bank)[0], dtype=tf.int32)
        h = tf.gather(self.bank, idx)
        return h if self.scenario.link == "p2p_mimo" else h[:, :, None, None]


def channel_block(scenario: Scenario, name: str):
    """The channel draw ``block(batch_size) -> h`` of model ``name`` on the scenario's link.

    ``mu_mimo_downlink``: ``CHANNELS[name]`` on the OFDM grid, h [B, K, 1, 1, M, S, F];
    ``p2p_mimo``: :class:`~linksim.phy.p2p.P2PBlockFading` of the scenario with
    ``channel.model: name``, h [B, N_R, N_T].
    """
    if scenario.link == "p2p_mimo":
        channel = scenario.channel.model_copy(update={"model": name})
        return P2PBlockFading(scenario.model_copy(update={"channel": channel}))
    return CHANNELS[name](scenario, resource_grid(scenario))


def outdated_csi(h: tf.Tensor, h_other: tf.Tensor, error: float) -> tf.Tensor:
    """What the BS knows of the channel: sqrt(1 - e) h + sqrt(e) h', h' an independent draw.

    Why this model: seed 003 assumes perfect CSI at the BS, under which RZF
    leaves each user a nearly flat effective channel and the UE's pilots have
    little to do. Real BSs precode with estimated or outdated channels. The
    first-order Gauss-Markov model of channel ageing mixes the true channel
    with an independent realisation of the same model, so the error has the
    channel's power, delay and angle statistics (its frequency correlation in
    particular: the UE sees a smooth, not a white, residual). h_bs keeps the
    channel's power; its normalised error E|h_bs - h|^2 / E|h|^2 is
    2 (1 - sqrt(1 - e)), about e for small e (0.103 at e = 0.1).
    In eval h' comes from the same scenario's channel; in training from the
    training sampler (a bank slot may come from another of the mixed scenarios).

    Input: h, h_other [batch_size, num_users, 1, 1, num_bs_ant, num_ofdm_symbols, fft_size],
    tf.complex64. Output: the same shape (``h`` itself when error is 0).
    """
    if error == 0:
        return h
    return (tf.complex(math.sqrt(1.0 - error), 0.0) * h
            + tf.complex(math.sqrt(error), 0.0) * h_other)


def training_sampler(scenario: Scenario, cfg: SemanticConfig,
                     cache_dir: Path | None = DEFAULT_CACHE) -> ChannelSampler:
    """The sampler ``cfg`` asks for; a bank is seeded from ``scenario.seed``."""
    if cfg.channel_source == "online":
        return OnlineChannels(scenario, cfg.train_channels, cfg.train_snr_db)
    return ChannelBank(scenario, cfg.train_channels, cfg.train_snr_db, size=cfg.bank_size,
                       seed=scenario.seed, cache_dir=cache_dir)
