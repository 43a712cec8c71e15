"""Measured statistics of a scenario's channels, to explain BLER differences with numbers.

For each channel model, over many random drops: share of LoS and indoor links,
RMS delay spread and Rician K-factor measured on the generated multipath
(power-weighted over paths and antennas), frequency selectivity over the grid,
and what ZF/RZF precoding makes of the 4x4 matrix channel per resource element
(condition number; the effective gain 1/[(H H^H)^-1]_kk of each user under
unit-norm ZF precoding, whose lower tail drives the block error rate), and
what RZF at a given SNR leaves for a UE to equalise: the spread of each
user's effective gain (H V)_kk over the REs of its slot and its SINR.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from linksim.config import Scenario, with_overrides
from linksim.phy.channels import CHANNELS
from linksim.phy.channels.system_level import SystemLevelChannel
from linksim.phy.noise import snr_db_to_no
from linksim.phy.ofdm import resource_grid


def multipath_stats(channel: SystemLevelChannel, batch_size: int) -> dict[str, np.ndarray]:
    """Per-link LoS/indoor flags, RMS delay spread [s] and K-factor [dB] of one drop batch.

    Output arrays have shape [batch_size * num_users].
    """
    channel.new_topology(batch_size)
    a, tau = channel.model(1, 1.0)  # a: [B, K, 1, 1, M, P, 1], tau: [B, K, 1, P]
    p = np.sum(np.abs(a.numpy()[..., 0]) ** 2, axis=(2, 3, 4))  # [B, K, P]
    t = tau.numpy()[:, :, 0, :]
    p = np.where(t >= 0, p, 0.0)
    tot = p.sum(-1, keepdims=True)
    mean = (p * t).sum(-1, keepdims=True) / tot
    ds = np.sqrt(np.maximum((p * (t - mean) ** 2).sum(-1) / tot[..., 0], 0))
    strongest = p.max(-1)
    k_db = 10 * np.log10(strongest / np.maximum(tot[..., 0] - strongest, 1e-30))
    sc = channel.model._scenario  # Sionna keeps the drop's LoS/indoor state here
    los = sc.los.numpy()[:, 0, :]
    indoor = sc.indoor.numpy()
    d2d = sc.distance_2d.numpy()[:, 0, :]
    d2d_out = sc.distance_2d_out.numpy()[:, 0, :]
    return {"los": los.ravel(), "indoor": indoor.ravel(), "ds": ds.ravel(),
            "k_db": k_db.ravel(), "d2d": d2d.ravel(), "d2d_out": d2d_out.ravel()}


def _snr_key(snr_db: float) -> str:
    return f"m{-snr_db:g}" if snr_db < 0 else f"{snr_db:g}"


def rzf_stats(H: np.ndarray, snr_db: float, power: float) -> dict[str, np.ndarray]:
    """Each user's effective channel under the semantic system's RZF (regulariser N0), per (slot, user).

    ``H`` [B, S, F, K, M]; the K streams share ``power`` (unit-energy symbols).
    Returns the standard deviation over the slot's REs of 20 log10 |(H V)_kk|
    [dB] -- the frequency/time variation a UE would have to equalise (the
    phase of (H V)_kk is zero: H V is Hermitian) -- and the mean SINR [dB].
    """
    from linksim.systems.scenario_adaptive.precoder import rzf_precode

    k = H.shape[-2]
    no = snr_db_to_no(snr_db)
    # V's columns at once: precode the K unit streams e_j along a leading axis j
    cols = rzf_precode(tf.constant(H[None], tf.complex64),
                       tf.eye(k, dtype=tf.complex64)[:, None, None, None, :], tf.constant(no), power)
    G = np.einsum("bsfkm,jbsfm->bsfkj", H, cols.numpy())                        # H V
    own = np.abs(np.diagonal(G, axis1=-2, axis2=-1)) ** 2                       # [B, S, F, K]
    leak = np.sum(np.abs(G) ** 2, axis=-1) - own
    spread = np.std(10 * np.log10(np.maximum(own, 1e-12)), axis=(1, 2))        # [B, K]
    sinr = np.mean(own / (leak + no), axis=(1, 2))
    key = _snr_key(snr_db)
    return {f"rzf_gain_spread_db_{key}": spread.ravel(),
            f"rzf_sinr_db_{key}": 10 * np.log10(sinr).ravel()}


#: Condition number of H beyond which float32 cannot factor H H^H (cond(H H^H) = cond(H)^2 >
#: 1/eps): where ZF's (H H^H)^-1 (alpha = 0, no regulariser) may come out NaN or Inf.
F32_SINGULAR_COND = 1.0 / float(np.sqrt(np.finfo(np.float32).eps))


def matrix_stats(h: tf.Tensor, power: float = 1.0,
                 snrs_db: tuple[float, ...] = ()) -> dict[str, np.ndarray]:
    """ZF- and RZF-relevant statistics of ``h`` [B, K, 1, 1, M, S, F] per (slot, user).

    ``power``: total transmit power of the K streams (``precoder.power``);
    ``snrs_db``: SNRs (1/N0) at which :func:`rzf_stats` is measured.
    """
    H = tf.transpose(h[:, :, 0, 0], [0, 3, 4, 1, 2]).numpy()   # [B, S, F, K, M]
    gram = H @ np.conj(np.swapaxes(H, -1, -2))
    inv_diag = np.real(np.diagonal(np.linalg.inv(gram), axis1=-2, axis2=-1))  # [B, S, F, K]
    zf_gain_db = -10 * np.log10(np.maximum(inv_diag, 1e-12))
    s = np.linalg.svd(H, compute_uv=False)
    cond_db = 20 * np.log10(s[..., 0] / np.maximum(s[..., -1], 1e-12))
    gain = np.mean(np.abs(H) ** 2, axis=-1)                         # [B, S, F, K]
    sel_db = 10 * np.log10(gain.max(axis=(1, 2)) / np.maximum(gain.min(axis=(1, 2)), 1e-12))
    rzf = {k: v for snr in snrs_db for k, v in rzf_stats(H, snr, power).items()}
    return rzf | {
        # the worst RE of each user's slot: a codeword spans the slot
        "zf_gain_db_mean": zf_gain_db.mean(axis=(1, 2)).ravel(),
        "zf_gain_db_min": zf_gain_db.min(axis=(1, 2)).ravel(),
        "cond_db": np.median(cond_db, axis=(1, 2)).ravel(),
        "cond_db_max": cond_db.max(axis=(1, 2)).ravel(),
        "f32_singular_res": (cond_db > 20 * np.log10(F32_SINGULAR_COND)).sum(axis=(1, 2)).ravel(),
        "selectivity_db": sel_db.ravel(),
    }


def scenario_stats(scenario: Scenario, models: list[str], fft_sizes: list[int],
                   drops: int = 2000, batch_size: int = 250,
                   snrs_db: tuple[float, ...] = (-7.0, 7.0)) -> list[dict[str, Any]]:
    """One summary row per (channel model, N_f): medians and tail percentiles.

    RZF statistics at ``snrs_db`` use the scenario's ``precoder.power``.
    """
    from linksim.phy.precoding import transmit_power

    power = transmit_power(scenario)
    rows = []
    for model in models:
        for fft in fft_sizes:
            sc = with_overrides(scenario, {"channel.model": model, "ofdm.fft_size": fft})
            rg = resource_grid(sc)
            ch = CHANNELS[model](sc, rg)
            acc: dict[str, list[np.ndarray]] = {}
            for _ in range(max(1, drops // batch_size)):
                parts = matrix_stats(ch(batch_size), power, snrs_db)
                if isinstance(ch, SystemLevelChannel):
                    parts |= multipath_stats(ch, batch_size)
                for k, v in parts.items():
                    acc.setdefault(k, []).append(v)
            v = {k: np.concatenate(x) for k, x in acc.items()}
            row: dict[str, Any] = {"channel": model, "fft_size": fft,
                                   "links": int(v["zf_gain_db_mean"].size)}
            if "los" in v:
                row |= {
                    "los_share": float(v["los"].mean()),
                    "indoor_share": float(v["indoor"].mean()),
                    "median_ds_ns": float(np.median(v["ds"]) * 1e9),
                    "mean_log10_ds": float(np.mean(np.log10(np.maximum(v["ds"], 1e-12)))),
                    "median_k_db_los": float(np.median(v["k_db"][v["los"]])) if v["los"].any() else None,
                    "median_k_db_nlos": float(np.median(v["k_db"][~v["los"]])),
                    "median_d2d_m": float(np.median(v["d2d"])),
                }
            row |= {
                "median_cond_db": float(np.median(v["cond_db"])),
                # ZF's numerical risk (seed 003 Fig. 10) lives in the tail over single REs
                "max_cond_db": float(v["cond_db_max"].max()),
                "res": int(v["f32_singular_res"].size * sc.ofdm.num_ofdm_symbols * fft),
                "f32_singular_res": int(v["f32_singular_res"].sum()),
                "median_zf_gain_db": float(np.median(v["zf_gain_db_mean"])),
                "p10_zf_gain_db": float(np.percentile(v["zf_gain_db_mean"], 10)),
                "p10_worst_re_zf_gain_db": float(np.percentile(v["zf_gain_db_min"], 10)),
                "median_selectivity_db": float(np.median(v["selectivity_db"])),
            }
            for snr in snrs_db:
                key = _snr_key(snr)
                row[f"median_rzf_gain_spread_db_{key}"] = float(np.median(v[f"rzf_gain_spread_db_{key}"]))
                row[f"mean_rzf_sinr_db_{key}"] = float(np.mean(v[f"rzf_sinr_db_{key}"]))
            rows.append({k: (round(x, 3) if isinstance(x, float) else x) for k, x in row.items()})
    return rows


def write_stats(rows: list[dict[str, Any]], out_dir: Path, meta: dict[str, Any]) -> Path:
    from linksim.experiments.results import ResultTable, write_json

    out_dir = Path(out_dir)
    path = out_dir / "channel_stats.csv"
    path.unlink(missing_ok=True)
    table = ResultTable(path, list(dict.fromkeys(k for r in rows for k in r)))
    for r in rows:
        table.append(r)
    write_json(out_dir / "channel_stats.json", {"rows": rows, **meta})
    return path
