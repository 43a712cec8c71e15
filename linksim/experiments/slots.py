"""The image-slot layout and channel-realisation seeding every image experiment shares.

The SSCC baselines (:mod:`linksim.experiments.sscc`) and the semantic models
(:mod:`linksim.experiments.semantic_eval`) send the same test images in the
same slots over the same channel realisations, so they compare point by point:

- images: :func:`load_experiment_images` ``(exp)`` = ``load_images(exp.data,
  exp.split, limit=exp.num_images, seed=exp.data_seed)``; image ``i`` rides in
  batch ``i // (B K)``, slot ``(i // K) % B``, user ``i % K`` with
  ``B = exp.batch_size`` slots per batch and ``K`` users (:class:`SlotLayout`);
- channel: before batch ``b`` at SNR ``s`` the global Sionna seed is
  :func:`realisation_seed` ``(scenario, s, b)`` and the scenario's channel
  block is the first random draw.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from linksim.config import ConfigError, Scenario
from linksim.config.schema import ImageExperiment
from linksim.data import DataError, ImageSet, load_images
from linksim.seeding import derived_seed


def realisation_seed(scenario: Scenario, snr_db: float, batch_index: int) -> int:
    """Sionna seed set before batch ``batch_index`` at ``snr_db``: same for every codec and scheme."""
    return derived_seed(scenario.seed, "sscc-realisation", scenario.channel.model,
                        float(snr_db), int(batch_index))


@dataclass(frozen=True)
class SlotLayout:
    """Which image rides in which (batch, slot, user): image ``i`` -> ``divmod(i, B K)``, then ``divmod(., K)``.

    The last batch is filled up with empty slots (zero bits, not counted), so
    every batch has the compiled step's fixed shape.
    """

    num_images: int
    batch_size: int
    num_users: int

    @property
    def num_batches(self) -> int:
        return math.ceil(self.num_images / (self.batch_size * self.num_users))

    def batch(self, b: int) -> np.ndarray:
        """Image indices [batch_size, num_users] of batch ``b``, -1 for empty slots."""
        per_batch = self.batch_size * self.num_users
        idx = np.arange(b * per_batch, (b + 1) * per_batch).reshape(self.batch_size, self.num_users)
        return np.where(idx < self.num_images, idx, -1)


def load_experiment_images(exp: ImageExperiment) -> tuple[ImageSet, list[str]]:
    """The experiment's images and the data warnings (skipped files), re-emitted and returned.

    Raises
    ------
    ConfigError
        The data set cannot be read (one line saying where linksim looked), so
        the CLI exits with status 2.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            images = load_images(exp.data, exp.split, limit=exp.num_images, seed=exp.data_seed,
                                 image_size=exp.image_size)
        except DataError as err:
            raise ConfigError(f"experiment {exp.name}: data: {err}") from None
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = [str(w.message) for w in caught]
    if len(images) < exp.num_images:
        note = f"only {len(images)} of num_images={exp.num_images} images available: {images.source}"
        warnings.warn(note, UserWarning, stacklevel=2)
        notes.append(note)
    return images, notes


def experiment_meta(scenario: Scenario, exp: ImageExperiment, image_set: ImageSet,
                    data_notes: list[str]) -> dict[str, Any]:
    """The JSON header of an image experiment: its configuration, the scenario and the data used."""
    return {
        "experiment": exp.model_dump(mode="json"),
        "scenario": scenario.model_dump(mode="json", exclude={"experiments"}),
        "data": {"source": image_set.source, "num_images": len(image_set.images), "spec": exp.data,
                 "split": exp.split, "data_seed": exp.data_seed, "warnings": data_notes},
    }
