"""Seed 002: robust image semantic coding with learnable CSI fusion masking (LCFSC) over point-to-point MIMO.

One concept per module:
:mod:`~.config` (the ``semantic:`` section: N_T, N_R, CBR, Swin widths, NI-CFMA, R-CVAE, NPN, loss),
:mod:`~.networks` (NI-CFMA and its GRN/CSI masking model, the CSI fusion Swin encoder, Channel
ModNet, R-CVAE, ADJSCC),
:mod:`~.model` (the end-to-end model over the SVD P2P link, its :data:`VARIANTS` and stages),
:mod:`~.throughput` (training speed, paper-width cost).

The paper's contributions written here: NI-CFMA with the GRN importance and
CSI-fused learned masking map (eqs. 6-8), the learnable mask ratio by the
R-CVAE (eqs. 13-24), the NPN channel estimator (:mod:`linksim.nn.npn`, a
``P2P_ESTIMATORS`` plug-in) and the two-step training. Reused: the Swin blocks
and decoder (:mod:`linksim.nn.swin`), MS-SSIM (:mod:`linksim.nn.losses`),
power normalisation, and the P2P MIMO physical layer (:mod:`linksim.phy.p2p`:
channels, SVD precoding and detection; :mod:`linksim.phy.p2p_estimation`: pilots, LS).
"""
from linksim.registry import SYSTEMS
from linksim.systems.base import System
from linksim.systems.checkpoints import SameArchitectureWarmStart
from linksim.systems.lcfsc.config import LCFSCConfig, quick
from linksim.systems.lcfsc.model import (ARCHITECTURE, VARIANTS, LCFSCSystem, Variant,
                                         build_system, stages)

SYSTEM = System(
    name="lcfsc",
    title="Learnable CSI fusion semantic coding, point-to-point MIMO with SVD",
    paper="seed 002",
    link="p2p_mimo",
    config=LCFSCConfig,
    variants=VARIANTS,
    build=build_system,
    quick=quick,
    stages=stages,
    warm_start=SameArchitectureWarmStart("lcfsc", ARCHITECTURE),
)
SYSTEMS.register("lcfsc", SYSTEM.summary)(SYSTEM)

__all__ = ["ARCHITECTURE", "SYSTEM", "VARIANTS", "LCFSCConfig", "LCFSCSystem", "Variant",
           "build_system", "stages"]
