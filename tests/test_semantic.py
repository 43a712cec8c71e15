"""Semantic MU-MIMO system (seed 003): shapes, power, gradients, RZF at init, ZF, save/load, training."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import sionna
import tensorflow as tf

from conftest import make_scenario
from linksim.systems.scenario_adaptive import ScenarioAdaptiveConfig as SemanticConfig
from linksim.data import load_images
from linksim.phy.ofdm import downlink_streams, resource_grid
from linksim.phy.precoding import PRECODERS
from linksim.nn.channel import ChannelBank, OFDMChannel, OnlineChannels, training_sampler
from linksim.systems.scenario_adaptive import VARIANTS as SEMANTIC_MODELS
from linksim.systems.scenario_adaptive import SemanticSystem, build_system
from linksim.systems.scenario_adaptive.ofdm_map import GridMapper
from linksim.systems.scenario_adaptive.precoder import NeuralPrecoder
from linksim.systems.scenario_adaptive.decoder import SemanticDecoder, fold_grid
from linksim.systems.scenario_adaptive.encoder import latent_from_fold_order
from linksim.systems.scenario_adaptive.precoder import normalize_power
from linksim.systems.scenario_adaptive.surgery import grow_into, regrid_into

K, M, S = 4, 4, 14


def _channel(batch: int, fft_size: int, seed: int = 0) -> tf.Tensor:
    """I.i.d. CN(0, 1) per RE: [batch, K, 1, 1, M, S, F], generic full-rank channels."""
    rng = np.random.default_rng(seed)
    shape = (batch, K, 1, 1, M, S, fft_size)
    h = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    return tf.constant(h.astype(np.complex64))


def _inputs(batch: int, fft_size: int, no=(0.5,)) -> dict[str, tf.Tensor]:
    rng = np.random.default_rng(1)
    return {"images": tf.constant(rng.uniform(size=(batch, K, 32, 32, 3)).astype(np.float32)),
            "h": _channel(batch, fft_size), "no": tf.constant(np.resize(no, batch), tf.float32)}


def _grid(sc, batch: int) -> tuple[GridMapper, tf.Tensor]:
    mapper = GridMapper(sc)
    z = tf.random.uniform([batch, K, mapper.latent_dim], -1, 1, seed=3)
    return mapper, mapper(z)


@pytest.mark.parametrize("latent", ["dense", "conv"])
@pytest.mark.parametrize("fft_size", [32, 64, 128])
def test_shapes_through_the_chain(fft_size, latent):
    sc = make_scenario(ofdm={"fft_size": fft_size})
    model = SemanticSystem(sc, "full", encoder_width=0.25, latent=latent)
    out = model(_inputs(2, fft_size))
    assert out["reconstruction"].shape == (2, K, 32, 32, 3)
    assert out["logits"].shape == (2, K, 10)
    rec = out["reconstruction"].numpy()
    assert np.all((rec >= 0) & (rec <= 1))
    mapper, grid = _grid(sc, 2)
    assert mapper.latent_dim == 2 * 12 * fft_size
    assert grid.shape == (2, 1, K, S, fft_size)
    y = model.channel(model.precoder(grid, _channel(2, fft_size), tf.ones([2])), _channel(2, fft_size),
                      tf.ones([2]))
    assert y.shape == (2, K, S, fft_size)


@pytest.mark.parametrize("fft_size", [32, 64, 128])
def test_conv_latent_arrives_at_the_decoder_position_it_left(fft_size):
    """latent 'conv': encoder position p's values sit at the decoder's fold position p."""
    sc = make_scenario(ofdm={"fft_size": fft_size})
    mapper = GridMapper(sc)
    channels = mapper.latent_dim // 64
    position = tf.reshape(tf.range(1, 65, dtype=tf.float32), [1, 8, 8, 1])
    z = latent_from_fold_order(tf.tile(position, [1, 1, 1, channels]), fft_size)  # value = p + 1
    grid = mapper(tf.tile(z[:, None], [1, K, 1]))[0, 0, 0]                          # user 0 [S, F]
    data = np.ones([S, fft_size], bool)
    data[list(sc.ofdm.pilot_ofdm_symbol_indices)] = False
    folded = fold_grid(grid[None])[0].numpy()                                        # [8, 8, C]
    on_data = fold_grid(tf.constant(data[None], tf.complex64))[0].numpy() != 0
    ratio = folded[on_data] / np.repeat(position.numpy().reshape(8, 8, 1), folded.shape[-1], -1)[on_data]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)   # one scale: every value at its own p


@pytest.mark.parametrize("name", ["no_pilot", "rzf", "djscc", "zf"])
def test_every_variant_runs(name):
    sc = make_scenario()
    out = SemanticSystem(sc, name, encoder_width=0.25)(_inputs(1, 32))
    assert out["reconstruction"].shape == (1, K, 32, 32, 3)
    assert np.isfinite(out["logits"].numpy()).all()


def _changed_pixels(decoder: SemanticDecoder) -> np.ndarray:
    """[32, 32] bool: output pixels that move when fold position (0, 0)'s received values move."""
    y = tf.complex(*tf.unstack(tf.random.stateless_normal([2, 4, S, 32], seed=[1, 2])))
    y = tf.reshape(y, [4, S, 32])
    bumped = tf.tensor_scatter_nd_add(y, [[i, t, 0] for i in range(4) for t in range(7)],
                                      tf.fill([28], tf.complex(3.0, 0.0)))
    pilots = tf.zeros_like(y)
    before, _ = decoder(y, pilots)
    after, _ = decoder(bumped, pilots)
    return np.any(after.numpy() != before.numpy(), axis=(0, 3))


def test_decoder_blocks_widen_the_receptive_field_over_the_grid():
    """Table I's head reaches the pixels of nearby positions only; residual blocks at 8x8 reach further."""
    keras.utils.set_random_seed(0)
    plain = _changed_pixels(SemanticDecoder(pilot_guidance=False, blocks=0))
    deep = _changed_pixels(SemanticDecoder(pilot_guidance=False, blocks=2))
    assert plain[0, 0] and deep[0, 0]
    assert deep[16:, 16:].any() and deep.sum() > 2 * plain.sum()
    assert not plain[12:, :].any() and not plain[:, 12:].any()   # 3 positions away: unreached


def test_parameter_counts_follow_table_iii():
    """N_f = 128: encoder 10.10 M (RZF) / 10.13 M (Full), precoder 0.061 M, DJSCC 6.35 M / 7.44 M."""
    sc = make_scenario(ofdm={"fft_size": 128})
    full, rzf, djscc = (SemanticSystem(sc, name) for name in ("full", "rzf", "djscc"))
    for m in (full, rzf, djscc):
        m.build()
    full_n, rzf_n, djscc_n = (m.component_parameters() for m in (full, rzf, djscc))
    assert full_n["encoder"] == pytest.approx(10.13e6, rel=0.01)
    assert rzf_n["encoder"] == pytest.approx(10.10e6, rel=0.01)
    assert full_n["precoder"] == pytest.approx(0.061e6, rel=0.01)
    assert djscc_n["encoder"] == pytest.approx(6.35e6, rel=0.01)
    assert djscc_n["decoder"] == pytest.approx(7.44e6, rel=0.01)
    assert rzf_n["precoder"] == 0 and full_n["decoder"] > rzf_n["decoder"]


def test_grid_mapping_power_and_pilots():
    sc = make_scenario()
    mapper, grid = _grid(sc, 3)
    pilots = mapper.pilot_reference.numpy()                       # [K, S, F]
    data = np.delete(grid.numpy()[:, 0], [2, 11], axis=2)         # [B, K, 12, F]
    np.testing.assert_allclose(np.mean(np.abs(data) ** 2, axis=(2, 3)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(grid.numpy()[:, 0, :, [2, 11]], np.broadcast_to(
        pilots[None, :, [2, 11]], (3, K, 2, 32)).transpose(2, 0, 1, 3), rtol=1e-6)
    assert np.all(pilots[:, [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13]] == 0)
    assert np.count_nonzero(pilots[0, 2]) == 32 // K             # user 0's Kronecker comb


@pytest.mark.parametrize("name", ["full", "rzf"])
def test_power_constraint_after_precoder(name):
    sc = make_scenario()
    variant = SEMANTIC_MODELS[name]
    pre = NeuralPrecoder(sc, variant.residual, variant.regulariser)
    _, grid = _grid(sc, 3)
    x = pre(grid, _channel(3, 32), tf.constant([0.2, 1.0, 5.0]), training=True).numpy()
    assert x.shape == (3, 1, M, S, 32)
    # per_antenna (default): E|x|^2 = 1 per antenna and RE, M in total
    np.testing.assert_allclose(np.mean(np.abs(x) ** 2, axis=(1, 2, 3, 4)), 1.0, rtol=1e-5)


def test_learnable_rzf_equals_classical_rzf_at_initialisation():
    sc = make_scenario()
    _, grid = _grid(sc, 4)
    h, no = _channel(4, 32), tf.constant([0.1, 0.5, 1.0, 3.0])
    classical = PRECODERS["rzf"](sc, resource_grid(sc), downlink_streams(K))
    x_ref = classical(grid, h, tf.reshape(no, [-1, 1, 1, 1]))[0]  # [B, 1, M, S, F]
    pre = NeuralPrecoder(sc, residual=True, regulariser="learnable")
    x_coarse = tf.transpose(pre.coarse(grid, h, no), [0, 3, 1, 2])[:, None]
    np.testing.assert_allclose(x_coarse.numpy(), x_ref.numpy(), atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(pre(grid, h, no).numpy(), normalize_power(x_ref, float(M)).numpy(),
                               atol=2e-5, rtol=1e-4)          # zero-initialised residual
    assert float(pre.alpha) == pytest.approx(1.0)





def test_outdated_csi_keeps_the_power_and_has_the_stated_error():
    from linksim.systems.scenario_adaptive.model import outdated_csi
    h, h_other = _channel(64, 32, seed=1), _channel(64, 32, seed=2)
    assert outdated_csi(h, h_other, 0.0) is h
    for e in (0.1, 0.5):
        h_bs = outdated_csi(h, h_other, e).numpy()
        np.testing.assert_allclose(np.mean(np.abs(h_bs) ** 2), 1.0, rtol=0.02)
        nmse = np.mean(np.abs(h_bs - h.numpy()) ** 2)
        np.testing.assert_allclose(nmse, 2 * (1 - np.sqrt(1 - e)), rtol=0.03)


def test_the_bs_encodes_and_precodes_with_its_own_csi_and_the_channel_is_the_true_one():
    """h_bs = h is perfect CSI (bit-identical output); another h_bs changes the output."""
    sc = make_scenario()
    model = SemanticSystem(sc, "rzf", encoder_width=0.25, csi_error=0.3)
    model.build()  # before seeding: building runs a dummy slot through the noisy channel
    inputs = _inputs(2, 32, no=(1e-4,))
    runs = {}
    for name, extra in (("perfect", {}), ("same", {"h_bs": inputs["h"]}),
                        ("outdated", {"h_bs": _channel(2, 32, seed=7)})):
        sionna.phy.config.seed = 4
        runs[name] = model({**inputs, **extra})["reconstruction"].numpy()
    np.testing.assert_array_equal(runs["perfect"], runs["same"])
    # (an untrained decoder's outputs stay near 0.5; rounding would be < 1e-7)
    assert np.abs(runs["outdated"] - runs["perfect"]).max() > 1e-5
    # training draws the outdated CSI itself: a step runs and stays finite
    model.channel_sampler = OnlineChannels(sc, ("rayleigh",))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    logs = model.train_step((inputs["images"], tf.zeros([2, K], tf.int32)))
    assert np.isfinite(float(logs["loss"]))


def _singular_channel(batch: int) -> tf.Tensor:
    """Users 0 and 1 have identical rows on every RE (exactly representable numbers)."""
    rows = np.array([[1, 1j, 0, 0], [1, 1j, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], np.complex64)
    return tf.constant(np.broadcast_to(rows[None, :, None, None, :, None, None],
                                       (batch, K, 1, 1, M, S, 32)).copy())


def test_zf_on_a_singular_channel_gives_nan_and_rzf_does_not():
    sc = make_scenario()
    _, grid = _grid(sc, 2)
    h, no = _singular_channel(2), tf.constant([0.1, 0.1])
    zf = NeuralPrecoder(sc, residual=False, regulariser="zero")(grid, h, no).numpy()
    rzf = NeuralPrecoder(sc, residual=False, regulariser="noise")(grid, h, no).numpy()
    assert not np.isfinite(zf).all()
    assert np.isfinite(rzf).all()
    model = SemanticSystem(sc, "zf", encoder_width=0.25)
    inputs = {**_inputs(2, 32), "h": h}
    loss = model.semantic_loss(inputs["images"], tf.zeros([2, K], tf.int32), model(inputs))[0]
    assert not np.isfinite(loss.numpy())


def test_gradients_reach_the_encoder_through_the_channel():
    sc = make_scenario()
    model = SemanticSystem(sc, "full", encoder_width=0.25)
    inputs = _inputs(2, 32)
    with tf.GradientTape() as tape:
        loss = model.semantic_loss(inputs["images"], tf.zeros([2, K], tf.int32),
                                   model(inputs, training=True))[0]
    variables = model.encoder.trainable_variables + [model.precoder.alpha_logit]
    grads = tape.gradient(loss, variables)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert all(np.abs(g.numpy()).max() > 0 for g in grads)


@pytest.mark.parametrize("latent, blocks, pixel", [("dense", 0, False), ("conv", 0, False),
                                                  ("conv", 2, False), ("conv", 1, True)])
def test_save_load_gives_identical_outputs(tmp_path, latent, blocks, pixel):
    sc = make_scenario()
    model = SemanticSystem(sc, "full", encoder_width=0.25, ce_weight=0.05, latent=latent,
                           decoder_blocks=blocks, pixel_path=pixel)
    model.build()  # before seeding: building runs a dummy slot through the noisy channel
    inputs = _inputs(2, 32, no=(0.3, 2.0))
    sionna.phy.config.seed = 9
    before = model(inputs)
    model.save(tmp_path / "full.keras")
    loaded = keras.models.load_model(tmp_path / "full.keras")
    sionna.phy.config.seed = 9
    after = loaded(inputs)
    for key in before:
        np.testing.assert_array_equal(before[key].numpy(), after[key].numpy())
    assert loaded.get_config() == model.get_config()


def _grown(sc, update: dict, tolerance: float):
    """A "trained" source (no weight at its initial value), grown by ``update``; both compute alike."""
    source = _trained(sc, sc.semantic.model)
    grown = build_system(sc, sc.semantic.model_copy(update=update))
    grow_into(source, grown)
    inputs = _inputs(2, 32, no=(0.3, 2.0))
    outputs = []
    for model in (source, grown):
        sionna.phy.config.seed = 9
        outputs.append(model(inputs))
    for key in outputs[0]:
        np.testing.assert_allclose(outputs[0][key].numpy(), outputs[1][key].numpy(),
                                   rtol=tolerance, atol=tolerance)
    return source, grown, inputs


def test_growing_the_decoder_keeps_what_the_model_computes_and_trains_the_new_blocks():
    sc = make_scenario(semantic={"encoder_width": 0.25, "decoder_width": 0.25, "latent": "conv",
                                 "decoder_blocks": 1})
    source, grown, inputs = _grown(sc, {"decoder_blocks": 3}, tolerance=0)
    assert len(grown.weights) > len(source.weights)
    # the new blocks are not dead: the loss has a gradient for them (through their zeroed scale)
    new = grown.decoder.residual_blocks[1:]
    with tf.GradientTape() as tape:
        out = grown(inputs, training=True)
        loss = tf.reduce_mean(tf.square(out["reconstruction"] - inputs["images"]))
    grads = tape.gradient(loss, [v for block in new for v in block.trainable_weights])
    assert any(np.abs(g.numpy()).max() > 0 for g in grads)
    with pytest.raises(ValueError, match="can only add decoder blocks"):
        grow_into(grown, source)
    dense = build_system(sc, sc.semantic.model_copy(update={"decoder_blocks": 3, "latent": "dense"}))
    with pytest.raises(ValueError, match="differ beyond their decoder blocks"):
        grow_into(source, dense)


@pytest.mark.parametrize("update", [{"pixel_path": True},
                                    {"pixel_path": True, "decoder_blocks": 2}])
def test_adding_pixel_paths_keeps_what_the_model_computes_and_trains_them(update):
    sc = make_scenario(semantic={"encoder_width": 0.25, "decoder_width": 0.25, "latent": "conv",
                                 "decoder_blocks": 1})
    # the tanh and sigmoid move after a sum with zero: equal up to float rounding
    source, grown, inputs = _grown(sc, update, tolerance=1e-6)
    paths = [grown.encoder.pixel_latent.kernel, grown.decoder.pixel_head.kernel]
    assert [tuple(p.shape) for p in paths] == [(1, 1, 48, 12), (3, 3, 32, 48)]
    with tf.GradientTape() as tape:
        out = grown(inputs, training=True)
        loss = tf.reduce_mean(tf.square(out["reconstruction"] - inputs["images"]))
    assert all(np.abs(g.numpy()).max() > 0 for g in tape.gradient(loss, paths))
    with pytest.raises(ValueError, match="can only add decoder blocks or pixel paths"):
        grow_into(grown, source)  # a path is never removed


def test_the_decoder_pixel_path_writes_4x4_pixel_blocks():
    """A unit kernel tap on one 8x8 feature lands on the 4x4 block of that position only."""
    decoder = SemanticDecoder(pilot_guidance=False, width=0.25, blocks=1, pixel_path=True)
    y = tf.complex(tf.random.normal([1, 14, 32]), tf.random.normal([1, 14, 32]))
    before, _ = decoder(y, y)
    kernel = np.zeros(decoder.pixel_head.kernel.shape, np.float32)
    kernel[1, 1, :, 0] = 1.0  # centre tap, output channel 0: pixel (0, 0) of each block, red
    decoder.pixel_head.kernel.assign(kernel)
    after, _ = decoder(y, y)
    changed = np.abs(after.numpy() - before.numpy())[0] > 0
    expected = np.zeros_like(changed)
    expected[0::4, 0::4, 0] = True
    np.testing.assert_array_equal(changed, expected)


def _stem(model: SemanticSystem, part: str) -> tf.Variable:
    """The first kernel that widening tiles along its output: the encoder's stem, or the decoder's
    restoration 1x1 conv (whose inputs, the folded grid, keep their width)."""
    if part == "encoder":
        return model.encoder.stem.layers[0].kernel
    return model.decoder.restoration.layers[0].kernel


@pytest.mark.parametrize("latent, part", [("dense", "encoder"), ("conv", "encoder"),
                                          ("conv", "decoder")])
def test_doubling_a_width_keeps_what_the_model_computes_and_separates_the_twins(latent, part):
    sc = make_scenario(semantic={"encoder_width": 0.25, "decoder_width": 0.25, "latent": latent,
                                 "decoder_blocks": 1})
    # the twins' halves are summed back: equal up to float rounding (the decoder's depthwise
    # kernels too, which are tiled, not split: split, they would halve every filter)
    source, wider, inputs = _grown(sc, {f"{part}_width": 0.5}, tolerance=1e-4)
    assert wider.component_parameters()[part] > source.component_parameters()[part]
    # twins start equal but get different gradients, so training can make them differ
    stem = _stem(wider, part)
    c = stem.shape[-1] // 2
    np.testing.assert_array_equal(stem.numpy()[..., :c], stem.numpy()[..., c:])
    with tf.GradientTape() as tape:
        out = wider(inputs, training=True)
        loss = tf.reduce_mean(tf.square(out["reconstruction"] - inputs["images"]))
    grad = tape.gradient(loss, stem).numpy()
    assert np.abs(grad[..., :c] - grad[..., c:]).max() > 1e-3 * np.abs(grad).max()
    other_latent = "conv" if latent == "dense" else "dense"
    for update in ({f"{part}_width": 0.75}, {f"{part}_width": 0.5, "latent": other_latent}):
        other = build_system(sc, sc.semantic.model_copy(update=update))
        with pytest.raises(ValueError, match="can only add decoder blocks|differ beyond"):
            grow_into(source, other)


def _trained(sc, model: str) -> SemanticSystem:
    """A built ``model`` with no weight at its initial value (as after training)."""
    system = build_system(sc, sc.semantic.model_copy(update={"model": model}))
    rng = np.random.default_rng(4)
    for v in system.weights:
        v.assign(v + 0.1 * rng.standard_normal(v.shape).astype(np.float32))
    return system


def _unfold(features: tf.Tensor, fft_size: int) -> tf.Tensor:
    """fold_grid's inverse: [N, 8, 8, C] real -> [N, S, fft_size] complex."""
    t = tf.reshape(features, [-1, fft_size, S, 2])
    return tf.transpose(tf.complex(t[..., 0], t[..., 1]), [0, 2, 1])


@pytest.mark.parametrize("fft_size", [64, 128])
def test_a_wider_grid_starts_as_a_repetition_code_of_the_narrow_model(fft_size):
    k = fft_size // 32
    semantic = {"encoder_width": 0.25, "decoder_width": 0.25, "latent": "conv",
                "decoder_blocks": 1}
    narrow = make_scenario(semantic=semantic)
    wide = make_scenario(semantic=semantic, ofdm={"fft_size": fft_size})
    # the transmitter (the RZF variant: no CSI-dependent gates, so both see the same input):
    # every data symbol of a user's narrow grid is sent k times on the wide grid
    source, target = _trained(narrow, "rzf"), _trained(wide, "rzf")
    regrid_into(source, target)
    images = _inputs(2, 32)["images"]
    no = tf.constant([0.3, 2.0])
    grids = []
    for model, sc in ((source, narrow), (target, wide)):
        csi = tf.zeros([2 * K, sc.ofdm.fft_size, M])
        z = model.encoder(tf.reshape(images, [-1, 32, 32, 3]), csi, tf.repeat(no, K))
        grids.append(model.mapper(tf.reshape(z, [2, K, -1])).numpy())
    data = [g[..., np.abs(m.mapper.pilot_reference.numpy()).sum(0) == 0] for g, m
            in zip(grids, (source, target))]  # non-pilot REs, per user
    assert data[1].shape[-1] == k * data[0].shape[-1]
    # the same multiset of symbols: sorted real parts and sorted imaginary parts agree (sorting
    # complex values would let float rounding swap near-equal real parts)
    for part in (np.real, np.imag):
        np.testing.assert_allclose(np.sort(part(np.repeat(data[0], k, -1)).ravel()),
                                   np.sort(part(data[1]).ravel()), atol=1e-5)
    # the receiver (Full: pilot attention, whose inputs are [grid, reference]
    # blocks): fed a grid whose fold repeats the narrow fold k times, it decodes what the
    # narrow decoder decodes (the k copies are averaged)
    source, target = _trained(narrow, "full"), _trained(wide, "full")
    regrid_into(source, target)
    rng = np.random.default_rng(5)
    y, p = (tf.complex(*tf.unstack(tf.constant(rng.standard_normal((2, 4, S, 32)), tf.float32)))
            for _ in range(2))
    tiled = [_unfold(tf.tile(fold_grid(x), [1, 1, 1, k]), fft_size) for x in (y, p)]
    no = tf.constant([0.3, 2.0, 1.0, 0.5])
    for a, b in zip(source.decoder(y, p, no), target.decoder(*tiled, no)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)
    # one change at a time, conv latent only, whole multiples only
    for sc, update in ((wide, {"decoder_blocks": 2}), (wide, {"latent": "dense"}),
                       (make_scenario(semantic=semantic, ofdm={"fft_size": 48}), {})):
        other = build_system(sc, sc.semantic.model_copy(update={"model": "full", **update}))
        with pytest.raises(ValueError, match="can only copy a conv-latent model"):
            regrid_into(source, other)


def test_channel_bank_is_cached_and_samplers_draw_the_right_shapes(tmp_path):
    sc = make_scenario()
    bank = ChannelBank(sc, ("umi", "rayleigh"), snr_db=(-3.0, 5.0), size=4, cache_dir=tmp_path)
    assert bank.bank.shape == (8, K, M, S, 32)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    again = ChannelBank(sc, ("umi", "rayleigh"), snr_db=(-3.0, 5.0), size=4, cache_dir=tmp_path)
    np.testing.assert_array_equal(bank.bank.numpy(), again.bank.numpy())
    online = OnlineChannels(sc, ("rayleigh", "awgn"), snr_db=(-3.0, 5.0))
    for sampler in (bank, online):
        h, no = sampler(6)
        assert h.shape == (6, K, 1, 1, M, S, 32) and no.shape == (6,)
        snr = -10 * np.log10(no.numpy())
        assert np.all((snr >= -3.0 - 1e-4) & (snr <= 5.0 + 1e-4))


def test_a_tiny_training_run_lowers_the_loss(tmp_path):
    sc = make_scenario()
    cfg = SemanticConfig(model="full", encoder_width=0.25, train_channels=("rayleigh",),
                         train_snr_db=(10.0, 10.0), bank_size=8)
    model = build_system(sc, cfg)
    model.channel_sampler = training_sampler(sc, cfg, cache_dir=tmp_path)
    images = load_images("samples", limit=8, download=False).images.astype(np.float32) / 255.0
    data = (tf.constant(images.reshape(2, K, 32, 32, 3)), tf.constant(np.arange(8).reshape(2, K) % 10))

    def mse() -> float:  # same channel and noise every time; batch statistics in the BNs
        sionna.phy.config.seed = 2
        h, no = model.channel_sampler(2)
        out = model({"images": data[0], "h": h, "no": no}, training=True)
        return float(model.semantic_loss(*data, out)[1])

    model.build()
    before = mse()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), run_eagerly=True)
    history = model.fit(tf.data.Dataset.from_tensors(data).repeat(2), epochs=1, verbose=0,
                        shuffle=False)
    assert np.isfinite(history.history["loss"][-1])          # Keras's own loop drives it
    step = tf.function(model.train_step)                      # a compiled custom loop too
    for _ in range(30):
        step(data)
    assert mse() < 0.5 * before


@pytest.mark.parametrize("latent", ["dense", "conv"])
def test_a_grid_the_decoder_cannot_fold_is_a_config_error(latent):
    from linksim.config import ConfigError

    sc = make_scenario(ofdm={"fft_size": 40})
    with pytest.raises(ConfigError, match=r"^ofdm.fft_size: 40 -- .*(64|multiple of)"):
        build_system(sc, SemanticConfig(encoder_width=0.25, latent=latent))


def test_a_fresh_wider_head_keeps_the_transceiver_and_refuses_other_changes():
    from linksim.systems.scenario_adaptive.surgery import with_fresh_head

    sc = make_scenario(semantic={"encoder_width": 0.25, "decoder_width": 0.25})
    source = _trained(sc, "full")
    wider = build_system(sc, sc.semantic.model_copy(update={"head_width": 1.0}))
    with_fresh_head(source, wider)
    assert wider.decoder.classifier.count_params() > 4 * source.decoder.classifier.count_params()
    inputs = _inputs(2, 32, no=(0.3, 2.0))
    outputs = []
    for model in (source, wider):
        sionna.phy.config.seed = 9
        outputs.append(model(inputs))
    np.testing.assert_array_equal(outputs[0]["reconstruction"].numpy(),
                                  outputs[1]["reconstruction"].numpy())
    other = build_system(sc, sc.semantic.model_copy(update={"head_width": 1.0, "decoder_blocks": 1}))
    with pytest.raises(ValueError, match="differ beyond their classification heads"):
        with_fresh_head(source, other)
