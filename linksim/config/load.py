"""Scenario loading: YAML file -> :class:`Scenario`, with one-line errors.

Every way a scenario file can be wrong (missing file, bad YAML, unknown key,
wrong type, value out of range, unknown plug-in, bad sweep path) ends up as a
:class:`ConfigError` whose message is a single line naming the key, the bad
value and what is allowed. The CLI prints it and exits with status 2.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from linksim.config.schema import Experiment, Scenario, SectionError

# experiment classes by ``kind``: pydantic inserts the kind into error locations as a union tag
_EXPERIMENT_KINDS = {m.model_fields["kind"].default: m for m in get_args(get_args(Experiment)[0])}


class ConfigError(Exception):
    """A scenario is invalid; ``str(err)`` is one line meant for the user."""


def _is_kind_tag(loc: tuple[Any, ...], i: int) -> bool:
    """Whether ``loc[i]`` is the union tag pydantic inserts after ``experiments[n]``.

    Only there: ``semantic`` is both an experiment kind and a top-level section.
    """
    return i >= 2 and loc[i] in _EXPERIMENT_KINDS and loc[i - 2] == "experiments"


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    """The pydantic model class under ``root`` that owns the last key of ``loc`` (for allowed keys)."""
    model: Any = root
    for i, part in enumerate(loc[:-1]):
        if isinstance(part, int) or model is None:
            continue
        if _is_kind_tag(loc, i):
            model = _EXPERIMENT_KINDS[part]
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """First BaseModel inside ``list[X]``, ``X | None``, ``Annotated[...]`` etc."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def format_validation_error(err: ValidationError, source: str,
                            root: type[BaseModel] = Scenario) -> str:
    """The first error of ``err`` as one line: ``source: key: value -- what is allowed``.

    A section validated by a plug-in's own class (:class:`SectionError`, e.g.
    ``semantic:`` by its system's config) is unwrapped, so its keys are named
    as ``semantic.key`` with the keys allowed there.
    """
    e = err.errors(include_url=False)[0]
    loc = tuple(p for i, p in enumerate(e["loc"]) if not _is_kind_tag(e["loc"], i))
    where = _loc_to_path(loc)
    inner = (e.get("ctx") or {}).get("error")
    if isinstance(inner, SectionError):
        return format_validation_error(inner.error, f"{source}: {where}", inner.model).replace(
            f"{source}: {where}: ", f"{source}: {where}.", 1)
    value = e.get("input")
    if e["type"] == "extra_forbidden":
        owner = _model_at(tuple(e["loc"]), root)
        allowed = ", ".join(owner.model_fields) if owner else "see the documented keys"
        return f"{source}: {where}: unknown key; allowed keys here: {allowed}"
    msg = e["msg"].removeprefix("Value error, ")
    shown = repr(value) if not isinstance(value, dict) else "{...}"
    if e["type"] == "missing":
        return f"{source}: {where}: required key is missing"
    return f"{source}: {where}: {shown} -- {msg}"


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"sweep path {dotted!r}: {key!r} is not a section")
    node[keys[-1]] = value


def with_overrides(scenario: Scenario, overrides: dict[str, Any], source: str = "sweep") -> Scenario:
    """A copy of ``scenario`` with dotted-path ``overrides`` applied and re-validated."""
    data = scenario.model_dump(mode="python")
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        _check_sweep_path(dotted, source)
        _set_dotted(data, dotted, value)
    try:
        return Scenario.model_validate(data).from_file(scenario.origin)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


_SWEEPABLE = ("ofdm", "channel", "bs", "ue", "precoder", "p2p", "receiver", "sounding", "link",
              "hybrid")


def _check_sweep_path(dotted: str, source: str) -> None:
    keys = dotted.split(".")
    model: Any = Scenario
    for i, key in enumerate(keys):
        fields = getattr(model, "model_fields", None)
        if fields is None or key not in fields or (i == 0 and key not in _SWEEPABLE):
            allowed = (
                ", ".join(f"{s}.*" for s in _SWEEPABLE) if i == 0 else ", ".join(fields or [])
            )
            raise ConfigError(f"{source}: {dotted!r} is not a sweepable key; allowed: {allowed}")
        model = _unwrap(fields[key].annotation) or None


def _read_yaml(path: Path) -> dict[str, Any]:
    """One YAML file's top-level mapping (ConfigError, one line, for anything else)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such scenario file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else (lists too) replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_extends(path: Path, data: dict[str, Any], seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Apply ``extends: <file>`` (relative to ``path``'s folder, chains allowed): the base, then this file.

    The base's ``name`` and ``description`` are not inherited: a scenario is named by its own
    file unless it says otherwise.
    """
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data
    if not isinstance(base_ref, str):
        raise ConfigError(f"{path}: extends: {base_ref!r} -- must be a path to a scenario file")
    base_path = (path.parent / base_ref).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: extends: {base_ref} -- a cycle of extends")
    base = _resolve_extends(base_path, _read_yaml(base_path), (*seen, path.resolve()))
    for key in ("name", "description"):
        base.pop(key, None)
    return _merged(base, data)


def load_scenario(path: str | Path) -> Scenario:
    """Parse and validate a scenario YAML file (after its ``extends:`` chain), every sweep included."""
    path = Path(path)
    data = _resolve_extends(path, _read_yaml(path))
    data.setdefault("name", path.stem)
    try:
        scenario = Scenario.model_validate(data).from_file(path)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, str(path))) from None
    for i, exp in enumerate(scenario.experiments):
        for point in expand_sweep(exp.sweep):
            with_overrides(scenario, point, source=f"{path}: experiments[{i}].sweep")
    return scenario


def expand_sweep(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """All combinations of a ``{dotted.path: [values]}`` sweep, in file order."""
    combos: list[dict[str, Any]] = [{}]
    for key, values in sweep.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def sweep_label(overrides: dict[str, Any]) -> str:
    """``"model=umi, fft_size=128"``: a sweep point as curve labels and CSV ``sweep`` columns show it."""
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in overrides.items())

