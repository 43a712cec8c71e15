"""Separate source-channel coding (SSCC) image transmission: PSNR vs SNR (seed 003 Fig. 8).

Chain per image (one user's codeword in one slot):

    image -> codec at the best quality whose payload fits k - CRC bits (eq. 10)
          -> zero-pad -> 5G transport-block CRC (38.212 7.2.1: CRC16 up to 3824 bits) -> k bits
          -> DownlinkLink (LDPC, QAM, RZF, 38.901 channel, LS + LMMSE, LDPC decoding)
          -> CRC check -> strip padding -> codec decoder -> image

Rules (seed 003 Sec. IV): an image whose payload does not fit even at the
codec's worst quality, whose CRC fails, or whose received payload the codec
cannot decode is *lost*: PSNR 0 dB (and SSIM, MS-SSIM 0), counted separately
as a fit, CRC or decode failure. Reported PSNR is the mean over images of the
per-image PSNR. B_max depends only on the MCS, so each image is encoded once
per (codec, MCS) and the payload is reused at every SNR and channel model.

"capacity" is the ideal bound: per image the codec's rate is fitted to its
slot's Shannon capacity sum log2(1 + SINR) over its data REs
(:class:`linksim.phy.sinr.CapacityBudget`, true effective RZF channel) and
the payload arrives error-free. No CRC is charged to it.

Identical images and channel realisations across schemes (so the semantic
models are compared on the same ones), laid out by :mod:`linksim.experiments.slots`:

- images: :func:`~linksim.experiments.slots.load_experiment_images` (its
  ``source`` line is in the JSON); image ``i`` goes to batch ``i // (B K)``,
  slot ``(i // K) % B``, user ``i % K`` (:class:`~linksim.experiments.slots.SlotLayout`);
- channel: before batch ``b`` at SNR ``s`` the global Sionna seed is set to
  :func:`~linksim.experiments.slots.realisation_seed` ``(scenario, s, b)`` and
  the scenario's channel block is the first random draw (the practical link's
  bits are given, so its first draw is the channel; the capacity bound draws
  the channel first too). A later experiment that does the same with the same
  ``batch_size`` sees the same drops and fading; the noise is the same as well
  if it next draws AWGN of the same shape (Sionna's ``ApplyOFDMChannel``).

The sweep engine (:mod:`linksim.experiments.engine`) runs :class:`SSCCSweep`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sionna
import tensorflow as tf
from sionna.phy.fec.crc import CRCDecoder, CRCEncoder

from linksim.config import MCS, Scenario, SSCCExperiment, expand_sweep, sweep_label, with_overrides
from linksim.data.metrics import ms_ssim, psnr, ssim
from linksim.experiments.engine import Executor, Point, SweepKind, run_sweep
from linksim.experiments.provenance import provenance, stable_hash
from linksim.experiments.results import ResultTable  # noqa: F401  (tests read tables through here)
from linksim.experiments.slots import (SlotLayout, experiment_meta, load_experiment_images,
                                       realisation_seed)
from linksim.phy.link import DownlinkLink
from linksim.phy.noise import ebno_db_from_no, snr_db_to_no
from linksim.phy.sinr import CapacityBudget
from linksim.runtime import compiled
from linksim.source import CODECS, DecodeError, SourceCodec
from linksim.source.rate_control import Encoded, fit_to_bits, fit_to_budget

CAPACITY = "capacity"

COLUMNS = (
    "experiment", "curve", "sweep", "channel", "fft_size", "csi", "codec", "backend", "scheme",
    "qam", "rate", "k", "payload_budget_bits", "snr_db", "ebno_db", "no", "num_images",
    "successes", "fit_failures", "crc_failures", "decode_failures", "success_rate",
    "failure_rate", "psnr_db", "psnr_success_db", "ssim", "ms_ssim", "codec_psnr_db",
    "mean_bits", "mean_quality", "mean_budget_bits", "batches", "wall_s", "seed", "config_hash",
)

OK, FIT_FAILED, CRC_FAILED, DECODE_FAILED = 0, 1, 2, 3
"""Per-image outcome codes of :class:`Outcome`."""


class MemoCodec(SourceCodec):
    """A codec whose ``encode``/``decode`` remember their results (both are pure functions).

    Why: rate control re-encodes the same image at the same qualities for
    every MCS and every capacity budget, and a passed CRC yields the same
    payload at many SNRs; x265 costs ~6 ms per encode.
    """

    def __init__(self, codec: SourceCodec):
        self.codec = codec
        self.name, self.backend, self.qualities = codec.name, codec.backend, codec.qualities
        self._encoded: dict[tuple[bytes, int], bytes] = {}
        self._decoded: dict[bytes, np.ndarray | DecodeError] = {}

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        key = (image.tobytes(), quality)
        if key not in self._encoded:
            self._encoded[key] = self.codec.encode(image, quality)
        return self._encoded[key]

    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        if payload not in self._decoded:
            try:
                self._decoded[payload] = self.codec.decode(payload, shape)
            except DecodeError as err:
                self._decoded[payload] = err
        result = self._decoded[payload]
        if isinstance(result, DecodeError):
            raise result
        return result

    def strip_padding(self, padded: bytes) -> bytes:
        return self.codec.strip_padding(padded)


def payloads_to_bits(payloads: list[bytes | None], num_bits: int) -> np.ndarray:
    """Zero-padded bit rows: [len(payloads), num_bits] float32, MSB first; None -> all zeros."""
    out = np.zeros((len(payloads), num_bits), np.float32)
    for row, payload in enumerate(payloads):
        if payload:
            bits = np.unpackbits(np.frombuffer(payload, np.uint8))
            out[row, : bits.size] = bits
    return out


def bits_to_bytes(bits: np.ndarray) -> list[bytes]:
    """Inverse of :func:`payloads_to_bits` up to padding: [n, num_bits] -> n byte strings."""
    packed = np.packbits(np.asarray(bits) > 0.5, axis=-1)
    return [row.tobytes() for row in packed]


def transport_block_crc(k: int) -> str:
    """38.212 7.2.1: a transport block of A > 3824 bits gets CRC24A, a smaller one CRC16.

    ``k`` is the LDPC information length, so the payload is A = k - L.
    """
    return "CRC24A" if k - 16 > 3824 else "CRC16"


class SSCCTransceiver:
    """The compiled digital link of the SSCC baseline: payload bits -> CRC -> DownlinkLink -> CRC check.

    Parameters
    ----------
    scenario : Scenario
    mcs : MCS
    batch_size : int
        Slots per call (each carries ``num_users`` payloads).
    crc : str
        Sionna/38.212 CRC polynomial, e.g. ``"CRC24A"``, or ``"auto"`` for the
        transport-block rule of 38.212 7.2.1 (:func:`transport_block_crc`); its
        bits are taken from the LDPC block's k information bits.

    Input (``step``)
    ----------------
    payload : [batch_size, 1, num_users, payload_bits], tf.float32
        Zero-padded payload bits, ``payload_bits = k - crc_length``.
    no : scalar tf.float32
        N0 = :func:`~linksim.phy.noise.snr_db_to_no` (SNR); :meth:`ebno_db` is its Eb/N0 label.

    Output (``step``)
    -----------------
    payload_hat : [batch_size, 1, num_users, payload_bits], tf.float32
        Decoded payload bits.
    crc_ok : [batch_size, 1, num_users], tf.bool
        CRC check passed.
    """

    def __init__(self, scenario: Scenario, mcs: MCS, batch_size: int, crc: str = "auto"):
        self.link = DownlinkLink(scenario, mcs)
        self.batch_size = batch_size
        self.crc_encoder = CRCEncoder(transport_block_crc(self.link.k) if crc == "auto" else crc)
        self.crc_decoder = CRCDecoder(self.crc_encoder)
        self.payload_bits = self.link.k - self.crc_encoder.crc_length
        self._no_at_0db = float(self.link.noise_variance(0.0))
        self.step: Callable = compiled(self._step, scenario.runtime.mode, reduce_retracing=True)

    def ebno_db(self, snr_db: float) -> float:
        """The Eb/N0 [dB] label of SNR = 1/N0 per RE on this link (:mod:`linksim.phy.noise`)."""
        return ebno_db_from_no(snr_db_to_no(snr_db), self._no_at_0db)

    def _step(self, payload, no):
        _, bits_hat = self.link(self.batch_size, no, bits=self.crc_encoder(payload))
        payload_hat, crc_ok = self.crc_decoder(bits_hat)
        return payload_hat, crc_ok[..., 0]


class CapacityStep:
    """Compiled :class:`~linksim.phy.sinr.CapacityBudget`: ``step(no)`` -> bits [batch_size, num_users]."""

    def __init__(self, scenario: Scenario, batch_size: int):
        self.block = CapacityBudget(scenario)
        self.batch_size = batch_size
        self.step: Callable = compiled(self._step, scenario.runtime.mode, reduce_retracing=True)

    def _step(self, no):
        return self.block(self.batch_size, no)


@dataclass
class Outcome:
    """What became of every image at one point.

    Attributes
    ----------
    status : [N], np.int8
        ``OK``, ``FIT_FAILED``, ``CRC_FAILED`` or ``DECODE_FAILED``.
    reconstructions : [N, 32, 32, 3], np.uint8
        Decoded images (zeros where lost).
    bits : [N], np.int64
        Payload bits sent (0 where the payload did not fit).
    quality : [N], np.float64
        Codec quality chosen (NaN where nothing fitted).
    budget : [N], np.float64
        Bits the image was allowed (k - CRC, or the slot's capacity).
    codec_psnr : [N], np.float64
        PSNR of the chosen payload decoded without channel errors (NaN where nothing fitted).
    """

    status: np.ndarray
    reconstructions: np.ndarray
    bits: np.ndarray
    quality: np.ndarray
    budget: np.ndarray
    codec_psnr: np.ndarray

    @classmethod
    def from_encoded(cls, codec: SourceCodec, images: np.ndarray, encoded: list[Encoded],
                     budget: np.ndarray) -> "Outcome":
        """Outcome as if every fitted payload arrived intact (the capacity bound's case)."""
        n = len(encoded)
        out = cls(status=np.full(n, OK, np.int8), reconstructions=np.zeros_like(images),
                  bits=np.array([e.bits for e in encoded], np.int64),
                  quality=np.array([np.nan if e.quality is None else e.quality for e in encoded]),
                  budget=np.asarray(budget, np.float64), codec_psnr=np.full(n, np.nan))
        for i, enc in enumerate(encoded):
            if not enc.ok:
                out.status[i] = FIT_FAILED
                continue
            try:
                out.reconstructions[i] = codec.decode(enc.payload, images[i].shape)
            except DecodeError:
                out.status[i] = DECODE_FAILED
                continue
            out.codec_psnr[i] = psnr(images[i], out.reconstructions[i])[0]
        return out


def encode_for_budget(codec: SourceCodec, images: np.ndarray, max_bits: int) -> list[Encoded]:
    """Seed 003's rate control (eq. 10) for every image: best quality with payload <= ``max_bits``."""
    return [fit_to_budget(codec, image, max_bits) for image in images]


def transmit(transceiver: SSCCTransceiver, codec: SourceCodec, scenario: Scenario,
             images: np.ndarray, encoded: list[Encoded], snr_db: float) -> Outcome:
    """Send every fitted payload through the link at ``snr_db`` and decode what arrives.

    Parameters
    ----------
    transceiver : SSCCTransceiver
    codec : SourceCodec
        Decoder at the UE (and its ``strip_padding``).
    scenario : Scenario
        The resolved scenario (its seed and channel model name the realisations).
    images : [N, 32, 32, 3], np.uint8
    encoded : list of N Encoded
        From :func:`encode_for_budget` with ``transceiver.payload_bits``.
    snr_db : float

    Returns
    -------
    Outcome
    """
    layout = SlotLayout(len(images), transceiver.batch_size, scenario.ue.num_users)
    out = Outcome.from_encoded(codec, images, encoded, np.full(len(images), transceiver.payload_bits))
    sent = out.status == OK
    out.status[sent] = CRC_FAILED  # until the CRC passes
    out.reconstructions[:] = 0
    no = tf.constant(snr_db_to_no(snr_db), tf.float32)
    payload_bits = transceiver.payload_bits
    for b in range(layout.num_batches):
        idx = layout.batch(b).reshape(-1)                       # [B*K]
        rows = [encoded[i].payload if i >= 0 else None for i in idx]
        bits = payloads_to_bits(rows, payload_bits).reshape(
            transceiver.batch_size, 1, layout.num_users, payload_bits)
        sionna.phy.config.seed = realisation_seed(scenario, snr_db, b)
        bits_hat, crc_ok = transceiver.step(tf.constant(bits), no)
        received = bits_to_bytes(bits_hat.numpy().reshape(-1, payload_bits))
        for i, ok, data in zip(idx, crc_ok.numpy().reshape(-1), received):
            if i < 0 or not sent[i] or not ok:
                continue
            try:
                out.reconstructions[i] = codec.decode(codec.strip_padding(data), images[i].shape)
                out.status[i] = OK
            except DecodeError:
                out.status[i] = DECODE_FAILED
    return out


def capacity_budgets(step: CapacityStep, scenario: Scenario, num_images: int, snr_db: float) -> np.ndarray:
    """Capacity [N] bits of the slot each image rides in, on the same realisations as :func:`transmit`."""
    layout = SlotLayout(num_images, step.batch_size, scenario.ue.num_users)
    budget = np.zeros(num_images)
    no = tf.constant(snr_db_to_no(snr_db), tf.float32)
    for b in range(layout.num_batches):
        idx = layout.batch(b).reshape(-1)
        sionna.phy.config.seed = realisation_seed(scenario, snr_db, b)
        bits = step.step(no).numpy().reshape(-1)
        budget[idx[idx >= 0]] = bits[idx >= 0]
    return budget


def score(images: np.ndarray, out: Outcome) -> dict[str, Any]:
    """Metrics of one point; lost images count as PSNR = SSIM = MS-SSIM = 0 (seed 003's rule)."""
    n = len(images)
    ok = out.status == OK
    per_psnr, per_ssim, per_ms = np.zeros(n), np.zeros(n), np.zeros(n)
    if ok.any():
        per_psnr[ok] = psnr(images[ok], out.reconstructions[ok])
        per_ssim[ok] = ssim(images[ok], out.reconstructions[ok])
        per_ms[ok] = ms_ssim(images[ok], out.reconstructions[ok])
    fitted = out.status != FIT_FAILED
    counts = {name: int(np.sum(out.status == code)) for name, code in
              (("successes", OK), ("fit_failures", FIT_FAILED), ("crc_failures", CRC_FAILED),
               ("decode_failures", DECODE_FAILED))}
    return {
        "num_images": n, **counts,
        "success_rate": counts["successes"] / n, "failure_rate": 1 - counts["successes"] / n,
        "psnr_db": float(per_psnr.mean()),
        "psnr_success_db": float(per_psnr[ok].mean()) if ok.any() else None,
        "ssim": float(per_ssim.mean()), "ms_ssim": float(per_ms.mean()),
        "codec_psnr_db": float(np.nanmean(out.codec_psnr)) if fitted.any() else None,
        "mean_bits": float(out.bits[fitted].mean()) if fitted.any() else None,
        "mean_quality": float(np.nanmean(out.quality)) if fitted.any() else None,
        "mean_budget_bits": float(out.budget.mean()),
    }


@dataclass(frozen=True)
class Curve:
    """One PSNR curve: a resolved scenario, a codec and an MCS (None: the capacity bound)."""

    overrides: dict[str, Any]
    scenario: Scenario
    codec: str
    mcs: MCS | None

    @property
    def scheme(self) -> str:
        return CAPACITY if self.mcs is None else self.mcs.label

    @property
    def sweep_label(self) -> str:
        return sweep_label(self.overrides)

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.sweep_label, self.codec, self.scheme) if p)


def curves(scenario: Scenario, exp: SSCCExperiment) -> list[Curve]:
    """Every (sweep combination, MCS or capacity, codec), in run order."""
    out = []
    for point in expand_sweep(exp.sweep):
        resolved = with_overrides(scenario, point)
        for mcs in [*exp.mcs, *([None] if exp.capacity else [])]:
            out.extend(Curve(point, resolved, codec, mcs) for codec in exp.codecs)
    return out


def curve_hash(curve: Curve, exp: SSCCExperiment, backend: str, data_source: str) -> str:
    """Identifies everything that changes a curve's numbers (not names, not how it is compiled)."""
    system = curve.scenario.model_dump(mode="json", exclude={"name", "description", "experiments"})
    system["runtime"].pop("mode")
    run = exp.model_dump(mode="json", include={"crc", "batch_size", "split", "data_seed"})
    return stable_hash({"system": system, "scheme": curve.mcs.model_dump() if curve.mcs else CAPACITY,
                        "codec": [curve.codec, backend], "run": run, "data": data_source})


class SSCCSweep(SweepKind):
    """The SSCC experiment as a :class:`~linksim.experiments.engine.SweepKind`.

    Points: every curve (:func:`curves`) at every SNR. The randomness is the
    channel realisation of each batch (:func:`realisation_seed`, shared with
    every scheme), so the points carry no seed of their own. Caches, built on
    first use: payloads per (codec, payload bits), transceivers per (scenario,
    MCS), capacity steps per scenario and budgets per (scenario, SNR).
    """

    columns = COLUMNS
    x_key = "snr_db"

    def __init__(self, scenario: Scenario, exp: SSCCExperiment):
        self.scenario, self.exp, self.name = scenario, exp, exp.name
        self.image_set, self.data_notes = load_experiment_images(exp)
        self.images = self.image_set.images
        self.codecs = {name: MemoCodec(CODECS[name]()) for name in exp.codecs}
        self.curves = curves(scenario, exp)
        self.hashes = [curve_hash(c, exp, self.codecs[c.codec].backend, self.image_set.source)
                       for c in self.curves]
        self._encoded: dict[tuple[str, int], list[Encoded]] = {}
        self._transceivers: dict[tuple[str, str], SSCCTransceiver] = {}
        self._capacity: dict[tuple[str, float], np.ndarray] = {}
        self._capacity_steps: dict[str, CapacityStep] = {}

    def points(self) -> list[Point]:
        return [Point(i, snr, h, f"{c.label} @ {snr:g} dB", c)
                for i, (c, h) in enumerate(zip(self.curves, self.hashes))
                for snr in self.exp.snr_values()]

    def meta(self) -> dict[str, Any]:
        exp = self.exp
        return {
            **experiment_meta(self.scenario, exp, self.image_set, self.data_notes),
            "codecs": {name: {"backend": c.backend, "qualities": [min(c.qualities), max(c.qualities)]}
                       for name, c in self.codecs.items()},
            "curves": [{"label": c.label, "overrides": c.overrides, "codec": c.codec,
                        "scheme": c.scheme, "config_hash": h}
                       for c, h in zip(self.curves, self.hashes)],
            "provenance": provenance(),
            "notes": {
                "snr": "SNR = 1/N0 per resource element; BS transmit power as scenario.precoder.power "
                       "(per_antenna: E|x|^2 = 1 per antenna and RE; total: 1 per RE), channel "
                       "normalised to unit average energy per link and BS antenna (linksim.phy.sinr); "
                       "the link runs at the equivalent Eb/N0 (ebno_db column).",
                "rate_control": f"payload budget = k - CRC bits, crc: {exp.crc} (B_max = k, seed 003 "
                                "eq. 10; auto = 38.212 7.2.1: CRC16 for payloads up to 3824 bits, "
                                "minus the transport-block CRC inside the k LDPC information bits); "
                                "zero-padded to k - CRC, the receiver strips the padding with the "
                                "codec's own syntax (SourceCodec.strip_padding), no length field.",
                "metrics": "mean over images of per-image PSNR (peak 255, capped at 100 dB), SSIM, "
                           "3-scale MS-SSIM (linksim.data.metrics); a lost image (payload does not "
                           "fit, CRC fails, or undecodable) counts as 0 for all three.",
                "capacity": "codec rate fitted (fit_to_bits) to sum over the slot's data REs of "
                            "log2(1 + SINR), SINR of the user's own stream after RZF on the true "
                            "channel with the other streams as interference; sent error-free, no CRC.",
                "realisations": "image i rides in batch i // (B K), slot (i // K) % B, user i % K "
                                "(B = batch_size, K = num_users); before batch b at SNR s the Sionna "
                                "seed is realisation_seed(scenario, s, b) = derived_seed(scenario.seed, "
                                "'sscc-realisation', channel.model, float(s), b) and the channel is "
                                "the first draw; the seed column is batch 0's. Every codec, MCS and "
                                "the capacity bound see the same images, drops and fading.",
            },
        }

    def run_point(self, point: Point, bar=None) -> dict[str, Any]:
        exp, images = self.exp, self.images
        curve, snr, h = point.spec, point.x, point.config_hash
        sc, codec = curve.scenario, self.codecs[curve.codec]
        sc_key = stable_hash(sc.model_dump(mode="json", exclude={"experiments"}))
        start = time.perf_counter()
        batches = SlotLayout(len(images), exp.batch_size, sc.ue.num_users).num_batches
        if curve.mcs is None:
            step = self._capacity_steps.get(sc_key) or CapacityStep(sc, exp.batch_size)
            self._capacity_steps[sc_key] = step
            if (sc_key, snr) not in self._capacity:
                self._capacity[(sc_key, snr)] = capacity_budgets(step, sc, len(images), snr)
            budget = self._capacity[(sc_key, snr)]
            fits = [fit_to_bits(codec, im, bits) for im, bits in zip(images, budget)]
            outcome = Outcome.from_encoded(codec, images, fits, budget)
            link_info = {"k": None, "payload_budget_bits": None, "ebno_db": None}
        else:
            key = (sc_key, curve.mcs.label)
            if key not in self._transceivers:
                self._transceivers[key] = SSCCTransceiver(sc, curve.mcs, exp.batch_size, exp.crc)
            tr = self._transceivers[key]
            if (curve.codec, tr.payload_bits) not in self._encoded:
                self._encoded[(curve.codec, tr.payload_bits)] = encode_for_budget(
                    codec, images, tr.payload_bits)
            fits = self._encoded[(curve.codec, tr.payload_bits)]
            outcome = transmit(tr, codec, sc, images, fits, snr)
            link_info = {"k": tr.link.k, "payload_budget_bits": tr.payload_bits,
                         "ebno_db": round(tr.ebno_db(snr), 4)}
        return {
            "experiment": exp.name, "curve": curve.label, "sweep": curve.sweep_label,
            "channel": sc.channel.model, "fft_size": sc.ofdm.fft_size, "csi": sc.receiver.csi,
            "codec": curve.codec, "backend": codec.backend, "scheme": curve.scheme,
            "qam": curve.mcs.qam if curve.mcs else None,
            "rate": curve.mcs.rate if curve.mcs else None, **link_info,
            "snr_db": snr, "no": snr_db_to_no(snr), **score(images, outcome),
            "batches": batches, "wall_s": round(time.perf_counter() - start, 3),
            "seed": realisation_seed(sc, snr, 0), "config_hash": h,
        }


def run_sscc(scenario: Scenario, exp: SSCCExperiment, out_dir: Path,
             progress: Callable[..., Any] | None = None, executor: Executor | None = None) -> Path:
    """Run (or resume) ``exp``; returns the CSV path. ``progress`` is a tqdm-like factory,
    ``executor`` where the points run (:func:`~linksim.experiments.engine.run_sweep`)."""
    return run_sweep(SSCCSweep(scenario, exp), out_dir, progress, executor).path
