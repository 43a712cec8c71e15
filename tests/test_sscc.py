"""SSCC image transmission (seed 003 Fig. 8): rate control, CRC, noiseless link, capacity bound, data errors."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import sionna
import tensorflow as tf
from PIL import Image

import linksim.experiments.slots as slots
import linksim.experiments.sscc as sscc
from conftest import make_scenario
from linksim.cli import main
from linksim.config import MCS, ConfigError, SSCCExperiment, load_scenario
from linksim.data import DataWarning, load_images
from linksim.data.metrics import psnr
from linksim.phy.coding import codeword_size
from linksim.phy.ofdm import resource_grid
from linksim.source import CODECS
from linksim.source.jpeg import JPEGCodec

SHAPE = (32, 32, 3)
FIG8_MCS = [MCS(qam=4, rate=0.5), MCS(qam=4, rate=2 / 3), MCS(qam=16, rate=0.5), MCS(qam=16, rate=2 / 3)]
CRC_BITS = 16  # 38.212 7.2.1 picks CRC16 for these small transport blocks


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Eight natural 32x32 crops (offline photographs), [8, 32, 32, 3] uint8."""
    return load_images("samples").images[::17][:8]


@pytest.fixture(scope="module")
def codecs() -> dict[str, sscc.MemoCodec]:
    return {name: sscc.MemoCodec(CODECS[name]()) for name in ("jpeg", "bpg")}


def noiseless_scenario():
    """Identity channel, perfect CSI: the link cannot make errors at high SNR."""
    return make_scenario(channel={"model": "awgn"}, receiver={"csi": "perfect"})


@pytest.mark.parametrize("codec_name", ["jpeg", "bpg"])
def test_rate_control_fits_k_minus_crc_and_fails_iff_worst_quality_does_not(codec_name, codecs, images):
    codec = codecs[codec_name]
    rg = resource_grid(make_scenario())
    budgets = [codeword_size(rg, mcs)[0] - CRC_BITS for mcs in FIG8_MCS]
    assert budgets == [368, 496, 752, 1008]               # Nf = 32: k = 384, 512, 768, 1024
    worst_bits = [8 * len(codec.encode(im, codec.qualities[-1])) for im in images]
    fails = 0
    for budget in [200, *budgets, 10_000]:
        for im, enc, worst in zip(images, sscc.encode_for_budget(codec, images, budget), worst_bits):
            assert enc.bits <= budget
            assert enc.ok == (worst <= budget)
            fails += not enc.ok
            if enc.ok:
                assert enc.payload == codec.encode(im, enc.quality) and enc.bits == 8 * len(enc.payload)
    assert fails >= len(images)                           # the 200-bit budget fails every image


def test_transceiver_budget_and_snr_convention():
    tr = sscc.SSCCTransceiver(noiseless_scenario(), MCS(qam=16, rate=0.5), batch_size=2)
    assert (tr.link.k, tr.payload_bits) == (768, 768 - CRC_BITS)
    for snr in (-7.0, 0.0, 7.0):
        assert float(tr.link.noise_variance(tr.ebno_db(snr))) == pytest.approx(10 ** (-snr / 10), rel=1e-5)


@pytest.mark.parametrize("codec_name", ["jpeg", "bpg"])
def test_padding_is_stripped_exactly(codec_name, images):
    codec = CODECS[codec_name]()
    for im in images[:4]:
        for quality in (codec.qualities[-1], codec.qualities[len(codec.qualities) // 3]):
            payload = codec.encode(im, quality)
            reference = codec.decode(payload, SHAPE)
            for pad in range(21):
                padded = payload + bytes(pad)
                assert np.array_equal(codec.decode(codec.strip_padding(padded), SHAPE), reference)


@pytest.mark.parametrize("codec_name", ["jpeg", "bpg"])
def test_noiseless_link_reproduces_the_codec_psnr(codec_name, codecs, images):
    codec, sc = codecs[codec_name], noiseless_scenario()
    tr = sscc.SSCCTransceiver(sc, MCS(qam=16, rate=2 / 3), batch_size=2)
    encoded = sscc.encode_for_budget(codec, images, tr.payload_bits)
    assert all(e.ok for e in encoded)
    out = sscc.transmit(tr, codec, sc, images, encoded, snr_db=40.0)
    assert (out.status == sscc.OK).all()
    own = np.stack([codec.codec.decode(e.payload, SHAPE) for e in encoded])   # un-memoised decoder
    assert np.array_equal(out.reconstructions, own)
    row = sscc.score(images, out)
    assert row["psnr_db"] == pytest.approx(psnr(images, own).mean(), abs=1e-12)
    assert row["psnr_db"] == pytest.approx(row["codec_psnr_db"], abs=1e-12) and row["success_rate"] == 1


def test_a_flipped_bit_fails_the_crc_and_loses_the_image(codecs, images):
    codec, sc = codecs["jpeg"], noiseless_scenario()
    tr = sscc.SSCCTransceiver(sc, MCS(qam=16, rate=2 / 3), batch_size=2)
    decoder = tr.link.decoder
    flip = np.zeros([2, 1, 4, tr.link.k], np.float32)
    flip[0, 0, 1, 5] = 1                                   # slot 0, user 1 -> image 1

    def flipping_decoder(llr):
        return tf.abs(decoder(llr) - flip)

    tr.link.decoder = flipping_decoder
    encoded = sscc.encode_for_budget(codec, images, tr.payload_bits)
    out = sscc.transmit(tr, codec, sc, images, encoded, snr_db=40.0)
    assert out.status.tolist() == [sscc.OK, sscc.CRC_FAILED] + [sscc.OK] * 6
    row = sscc.score(images, out)
    assert (row["successes"], row["crc_failures"], row["failure_rate"]) == (7, 1, 1 / 8)
    kept = psnr(np.delete(images, 1, 0), np.delete(out.reconstructions, 1, 0))
    assert row["psnr_db"] == pytest.approx(kept.sum() / 8)   # the lost image counts as 0 dB


def test_capacity_bound_beats_every_mcs_on_the_same_realisations(codecs, images):
    sc = make_scenario(channel={"model": "umi"})
    codec = codecs["jpeg"]
    cap = sscc.CapacityStep(sc, batch_size=2)
    recorded = []
    for snr in (-7.0, 3.0, 13.0):
        budget = sscc.capacity_budgets(cap, sc, len(images), snr)
        assert np.array_equal(budget, sscc.capacity_budgets(cap, sc, len(images), snr))
        bound = sscc.score(images, sscc.Outcome.from_encoded(
            codec, images, [sscc.fit_to_bits(codec, im, b) for im, b in zip(images, budget)], budget))
        for mcs in FIG8_MCS:
            tr = sscc.SSCCTransceiver(sc, mcs, batch_size=2)
            channel = tr.link.channel
            tr.link.channel = lambda batch_size: recorded.append(channel(batch_size)) or recorded[-1]
            encoded = sscc.encode_for_budget(codec, images, tr.payload_bits)
            row = sscc.score(images, sscc.transmit(tr, codec, sc, images, encoded, snr))
            assert bound["psnr_db"] >= row["psnr_db"], (snr, mcs.label)
            assert bound["successes"] >= row["successes"], (snr, mcs.label)
        sionna.phy.config.seed = slots.realisation_seed(sc, snr, 0)
        assert np.array_equal(cap.block.channel(2).numpy(), recorded[-1].numpy())  # same drop and fading
    assert bound["successes"] > 0                          # the bound is not trivially 0 at 13 dB


SCENARIO = """\
name: tiny8
seed: 3
channel: {model: awgn}
receiver: {csi: perfect}
runtime: {mode: eager}
experiments:
  - kind: sscc
    name: tiny8
    codecs: [jpeg]
    mcs: [{qam: 16, rate: 2/3}]
    snr_db: [-10.0, 30.0]
    data: DATA
    num_images: 4
    batch_size: 1
"""


def scenario_file(tmp_path, data: str):
    path = tmp_path / "tiny8.yaml"
    path.write_text(SCENARIO.replace("DATA", data))
    return path


def test_cli_run_writes_results_and_resumes(tmp_path):
    path, out = scenario_file(tmp_path, "samples"), tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    for name in ("tiny8.csv", "tiny8.json", "tiny8.png", "tiny8_envelope.csv"):
        assert (out / name).stat().st_size > 0
    rows = sscc.ResultTable(out / "tiny8.csv", sscc.COLUMNS).rows()
    assert [(r["scheme"], float(r["snr_db"])) for r in rows] == [
        ("16QAM r=2/3", -10.0), ("16QAM r=2/3", 30.0), ("capacity", -10.0), ("capacity", 30.0)]
    assert float(rows[0]["psnr_db"]) == 0 and int(rows[0]["crc_failures"]) == 4   # the cliff
    assert float(rows[1]["success_rate"]) == 1 and float(rows[3]["psnr_db"]) >= float(rows[1]["psnr_db"])
    meta = json.loads((out / "tiny8.json").read_text())
    assert meta["codecs"]["jpeg"]["backend"] == "pillow-jpeg" and meta["data"]["num_images"] == 4
    assert "scikit-image" in meta["data"]["source"]
    first = (out / "tiny8.csv").read_text()
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    assert (out / "tiny8.csv").read_text() == first        # resumed: nothing appended


def test_missing_data_set_is_one_line_and_exit_2(tmp_path, capsys):
    path = scenario_file(tmp_path, str(tmp_path / "no_such_cifar"))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no_such_cifar" in err and "does not exist" in err


def test_bad_images_are_named_skipped_and_recorded(tmp_path, images):
    folder = tmp_path / "data" / "test" / "cat"
    folder.mkdir(parents=True)
    for i, im in enumerate(images[:3]):
        Image.fromarray(im).save(folder / f"good{i}.png")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "big.png")
    (folder / "broken.png").write_bytes((folder / "good0.png").read_bytes()[:60])
    sc = load_scenario(scenario_file(tmp_path, str(tmp_path / "data")))
    exp = sc.experiments[0].model_copy(update={"capacity": False, "snr_db": [30.0], "num_images": 5})
    with pytest.warns(UserWarning) as caught:
        sscc.run_sscc(sc, exp, tmp_path / "out")
    named = " ".join(str(w.message) for w in caught if w.category is DataWarning)
    assert "big.png" in named and "broken.png" in named
    assert any("only 3 of num_images=5" in str(w.message) for w in caught)
    meta = json.loads((tmp_path / "out" / "tiny8.json").read_text())
    assert meta["data"]["num_images"] == 3 and any("big.png" in w for w in meta["data"]["warnings"])
    row = sscc.ResultTable(tmp_path / "out" / "tiny8.csv", sscc.COLUMNS).rows()[0]
    assert int(row["num_images"]) == 3 and float(row["success_rate"]) == 1


def test_unknown_codec_and_quick_version():
    with pytest.raises(ValueError, match="not a known source codec"):
        SSCCExperiment(codecs=["png"])
    from linksim.experiments import quick_version

    q = quick_version(load_scenario("scenarios/seed003/fig8_sscc.yaml")).experiments[0]
    assert len(q.mcs) == 1 and len(q.snr_values()) == 2 and q.num_images <= 8
    assert all(len(v) == 1 for v in q.sweep.values())


def test_missing_data_raises_config_error_in_the_runner(tmp_path):
    exp = SSCCExperiment(data=str(tmp_path / "nowhere"), num_images=2)
    with pytest.raises(ConfigError, match="nowhere"):
        slots.load_experiment_images(exp)


def test_jpeg_strip_padding_keeps_stuffed_zero():
    assert JPEGCodec().strip_padding(b"\x10\xff\x00\x00\x00") == b"\x10\xff\x00\x00\x00"
    assert CODECS["bpg"]().strip_padding(b"\x10\x20\x00\x00") == b"\x10\x20"


def test_transport_block_crc_follows_38_212():
    from linksim.experiments.sscc import transport_block_crc

    assert transport_block_crc(384) == "CRC16"       # 4QAM 1/2 at N_f = 32
    assert transport_block_crc(3840) == "CRC16"      # A = 3824: still small
    assert transport_block_crc(6144) == "CRC24A"     # large blocks
