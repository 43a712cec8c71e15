"""Per-image fidelity metrics on uint8 images (PSNR, SSIM, 3-scale MS-SSIM) and segmentation mIoU.

Conventions (the seed paper reports means over the test images):

- every function returns one value *per image*; the reported figure is the
  mean over images of the per-image values, not the PSNR of the pooled MSE;
- an image whose transmission failed has no reconstruction: the *caller*
  records 0 dB for it (seed 003, Sec. IV) before averaging;
- PSNR uses peak 255 on uint8 pixels, MSE over all H x W x 3 values; an exact
  reconstruction would be +inf dB and poison the mean, so PSNR is capped at
  :data:`PSNR_CAP_DB` (possible in practice: re-encoding CIFAR pixels that
  are themselves decoded q75 JPEG at q75 can reproduce them exactly).

SSIM is the standard one (Wang et al. 2004: 11x11 Gaussian window,
sigma 1.5, K1 = 0.01, K2 = 0.03, mean over the valid window positions and the
three channels), via ``tf.image.ssim``. MS-SSIM with its usual 5 scales is
undefined at 32x32 (the 5th scale is 2x2, smaller than any window), so
:func:`ms_ssim` uses 3 scales (32, 16, 8 pixels), the first three exponents of
Wang et al. 2003 (0.0448, 0.2856, 0.3001) renormalised to sum to 1, and a 7x7
Gaussian window with sigma 1.5 that fits the 8x8 coarsest scale. Values are
therefore not comparable with 5-scale MS-SSIM on larger images.
TensorFlow is imported on the first SSIM call, not when linksim.data is imported.
"""
from __future__ import annotations

import numpy as np

PSNR_CAP_DB = 100.0
MS_SSIM_POWER_FACTORS: tuple[float, ...] = tuple(
    w / (0.0448 + 0.2856 + 0.3001) for w in (0.0448, 0.2856, 0.3001)
)
MS_SSIM_FILTER_SIZE = 7


def _as_batch(reference: np.ndarray, reconstruction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check two uint8 arrays of equal shape and add a batch axis to single images."""
    ref, rec = np.asarray(reference), np.asarray(reconstruction)
    if ref.shape != rec.shape or ref.dtype != np.uint8 or rec.dtype != np.uint8:
        raise ValueError(
            f"need two uint8 arrays of one shape, got {ref.dtype}{list(ref.shape)} and {rec.dtype}{list(rec.shape)}"
        )
    if ref.ndim == 3:
        return ref[None], rec[None]
    return ref, rec


def psnr(reference: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB (peak 255), capped at :data:`PSNR_CAP_DB`.

    Parameters
    ----------
    reference, reconstruction : [N, H, W, 3] or [H, W, 3], np.uint8

    Returns
    -------
    psnr_db : [N], np.float64
    """
    ref, rec = _as_batch(reference, reconstruction)
    mse = np.mean((ref.astype(np.float64) - rec.astype(np.float64)) ** 2, axis=(1, 2, 3))
    floor = 255.0**2 * 10.0 ** (-PSNR_CAP_DB / 10.0)
    return 10.0 * np.log10(255.0**2 / np.maximum(mse, floor))


def ssim(reference: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per-image single-scale SSIM (11x11 Gaussian, sigma 1.5), in [-1, 1].

    Parameters
    ----------
    reference, reconstruction : [N, H, W, 3] or [H, W, 3], np.uint8 (H, W >= 11)

    Returns
    -------
    ssim : [N], np.float64
    """
    import tensorflow as tf

    ref, rec = _as_batch(reference, reconstruction)
    value = tf.image.ssim(tf.constant(ref, tf.float32), tf.constant(rec, tf.float32), max_val=255.0)
    return value.numpy().astype(np.float64)


def ms_ssim(reference: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per-image 3-scale MS-SSIM (7x7 Gaussian, sigma 1.5; see module docstring), in [0, 1].

    Parameters
    ----------
    reference, reconstruction : [N, H, W, 3] or [H, W, 3], np.uint8 (H, W >= 28)

    Returns
    -------
    ms_ssim : [N], np.float64
    """
    import tensorflow as tf

    ref, rec = _as_batch(reference, reconstruction)
    value = tf.image.ssim_multiscale(
        tf.constant(ref, tf.float32),
        tf.constant(rec, tf.float32),
        max_val=255.0,
        power_factors=MS_SSIM_POWER_FACTORS,
        filter_size=MS_SSIM_FILTER_SIZE,
    )
    return value.numpy().astype(np.float64)


def class_ious(prediction: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class IoU |P_c & G_c| / |P_c | G_c| over all pixels of all images (seed 001, eq. 29).

    Parameters
    ----------
    prediction, target : [N, H, W] (or any equal shape), integer class ids 0..num_classes-1
    num_classes : int
        C (MFNet: 9, the unlabelled class 0 included as the paper's C = 9).

    Returns
    -------
    iou : [num_classes], np.float64
        NaN for a class that is neither predicted nor present (0 / 0).
    """
    pred, true = np.asarray(prediction).ravel(), np.asarray(target).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"prediction and target differ in size: {pred.size} vs {true.size}")
    if pred.size and (min(pred.min(), true.min()) < 0 or max(pred.max(), true.max()) >= num_classes):
        raise ValueError(f"class ids must lie in 0..{num_classes - 1}")
    confusion = np.bincount(true.astype(np.int64) * num_classes + pred,
                            minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def mean_iou(prediction: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """mIoU of eq. (29): the mean of :func:`class_ious` over the classes that occur.

    Pixels are pooled over the whole set before dividing (the MFNet/RTFNet
    evaluation), not averaged per image. A class absent from both prediction
    and target has no IoU (0 / 0) and is left out of the mean, so C in eq. (29)
    is the number of classes that occur; one that is only predicted, or only
    present, counts with IoU 0.
    """
    iou = class_ious(prediction, target, num_classes)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")
