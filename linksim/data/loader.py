"""``load_images``: find CIFAR-10 wherever the user has it, or fall back to offline photographs.

Resolution of ``spec`` (the scenario's data setting):

- a path: a ``cifar-10-batches-py`` directory, a directory containing one, or an
  image folder root with ``<split>/<class>/`` sub-folders;
- ``"keras"``: the Keras cache (``$KERAS_HOME`` or ``~/.keras``, under
  ``datasets/cifar-10-batches-py`` as older Keras versions unpack it or
  ``datasets/cifar-10-batches-py-target/cifar-10-batches-py`` as Keras 3 does),
  then a ``keras.datasets.cifar10.load_data()`` download;
- ``None``/``"auto"``: ``$LINKSIM_DATA`` if set (a path, as above; an error if
  it is wrong, never silently replaced), else ``"keras"``, else the
  scikit-image photographs with a :class:`DataWarning` saying what was tried;
- ``"samples"``: the scikit-image photographs directly (offline demos, tests).

Keywords win over paths of the same name; write ``./keras`` for a folder.
"""
from __future__ import annotations

import contextlib
import io
import os
import socket
import warnings
from pathlib import Path

from linksim.data.images import IMAGE_SIZE, DataError, DataWarning, ImageSet, select_subset
from linksim.data.readers import PICKLE_DIR, is_pickle_dir, read_cifar_pickles, read_image_folder
from linksim.data.samples import SAMPLES_SOURCE, sample_photographs

ENV_VAR = "LINKSIM_DATA"
SPLITS = ("train", "test")
_DOWNLOAD_TIMEOUT_S = 20.0


def _keras_cache_dirs() -> list[Path]:
    """Where Keras versions unpack ``cifar-10-python.tar.gz``, most recent layout first."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    datasets = home / "datasets"
    return [datasets / f"{PICKLE_DIR}-target" / PICKLE_DIR, datasets / PICKLE_DIR]


def _download_with_keras() -> None:
    """Let Keras download and unpack CIFAR-10 into its cache; raises whatever Keras raises.

    Keras prints progress and errors itself: both streams are swallowed so an
    offline run prints only linksim's one-line warning. A socket timeout bounds
    a connection that hangs instead of failing (offline with no DNS it fails
    in milliseconds).
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import keras  # heavy (imports TensorFlow), so only when a download is actually needed

            keras.datasets.cifar10.load_data()
    finally:
        socket.setdefaulttimeout(previous)


def _find_keras_cache() -> Path | None:
    """The first Keras cache directory holding CIFAR-10 pickles, or None."""
    return next((folder for folder in _keras_cache_dirs() if is_pickle_dir(folder)), None)


def _load_keras(split: str, download: bool, image_size: int = IMAGE_SIZE) -> ImageSet:
    """CIFAR-10 from the Keras cache, downloading it first if absent and ``download``."""
    folder = _find_keras_cache()
    looked = " or ".join(str(d) for d in _keras_cache_dirs())
    if folder is None and download:
        try:
            _download_with_keras()
        except Exception as exc:  # noqa: BLE001 - any download failure means "not available"
            first_line = (str(exc).splitlines() or [""])[0]
            raise DataError(
                f"CIFAR-10 not in the Keras cache ({looked}) and the Keras download failed: "
                f"{type(exc).__name__}: {first_line}"
            ) from None
        folder = _find_keras_cache()
    if folder is None:
        raise DataError(f"CIFAR-10 not in the Keras cache ({looked}){'' if download else '; download disabled'}")
    return read_cifar_pickles(folder, split, image_size)


def _load_path(path: Path, split: str, limit: int | None, seed: int, origin: str,
               image_size: int = IMAGE_SIZE) -> ImageSet:
    """Read the data set at ``path`` (pickle directory, its parent, or image folder root)."""
    if not path.exists():
        raise DataError(f"data set path {path} (from {origin}) does not exist")
    for candidate in (path, path / PICKLE_DIR):
        if candidate.is_dir() and is_pickle_dir(candidate):
            return read_cifar_pickles(candidate, split, image_size)
    if (path / split).is_dir():
        return read_image_folder(path, split, limit, seed, image_size)
    raise DataError(
        f"no CIFAR-10 at {path} (from {origin}): expected {PICKLE_DIR} pickles"
        f" or an image folder {path}/{split}/<class>/"
    )


def load_images(
    spec: str | os.PathLike[str] | None = None,
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
    download: bool = True,
    image_size: int = IMAGE_SIZE,
) -> ImageSet:
    """Load the images a scenario transmits (see the module docstring for how ``spec`` resolves).

    Parameters
    ----------
    spec : None | "auto" | "keras" | "samples" | path
        Where the data set is.
    split : "train" | "test"
        Data set split (ignored by the scikit-image fallback, which has one set).
    limit : int or None
        Keep a deterministic subset of this many images
        (:func:`linksim.data.images.select_subset`: stratified by class when
        labelled, seeded permutation otherwise); None keeps all.
    seed : int
        Seed of the subset selection.
    download : bool
        Allow the Keras download attempt (tests and offline CI pass False to
        skip TensorFlow's import).
    image_size : int
        Side S of the square images (32: CIFAR-10). An image folder must hold
        S x S files (others are skipped, named); the CIFAR-10 pickles exist at
        32 only; the scikit-image fallback is cut into S x S tiles.

    Returns
    -------
    ImageSet
        ``images`` [N, S, S, 3] uint8, ``labels`` [N] int64 or None, and a
        ``source`` line recording data set, path, split and subset rule.

    Raises
    ------
    DataError
        An explicit path (config or ``$LINKSIM_DATA``) or ``"keras"`` cannot be
        read; the one-line message says where linksim looked.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if spec == "samples":
        full = sample_photographs(image_size)
    elif spec == "keras":
        full = _load_keras(split, download, image_size)
    elif spec is None or spec == "auto":
        env = os.environ.get(ENV_VAR)
        if env:
            full = _load_path(Path(env).expanduser(), split, limit, seed, f"${ENV_VAR}",
                              image_size)
        else:
            try:
                full = _load_keras(split, download, image_size)
            except DataError as exc:
                warnings.warn(f"{exc}; using {SAMPLES_SOURCE}", DataWarning, stacklevel=2)
                full = sample_photographs(image_size)
    else:
        full = _load_path(Path(spec).expanduser(), split, limit, seed, "config", image_size)
    # idempotent for the image-folder reader, which already decoded only the subset
    keep = select_subset(len(full), full.labels, limit, seed)
    rule = "stratified by class" if full.has_labels else "seeded permutation"
    subset = "" if limit is None else f", subset limit={limit} seed={seed} ({rule})"
    return ImageSet(
        images=full.images[keep],
        labels=None if full.labels is None else full.labels[keep],
        class_names=full.class_names,
        source=f"{full.source}; {keep.size} images{subset}",
    )
