"""The sweep file: a base configuration and the axes to vary (validated, with errors naming the field).

Schema (YAML or JSON)::

    base:                      # any configuration (docs/model.md); the axes override its fields
      depth: 2
      alpha: 4.0
      steps: 100
      dim: 128                 # simulation only: D (and seeds)
      seeds: 4
    axes:                      # one dimension of the result per axis, in this order
      parameterization: [mup, ntk]      # a list of values (numbers, strings, booleans or mappings)
      nu: {log2: [0.25, 16]}            # start * 2^k, k = 0, 1, ... while <= stop
      eta: {logspace: [0.004, 0.5, 8]}  # 8 log-spaced values from 0.004 to 0.5, both included
      noise: {linspace: [0.0, 0.5, 3]}  # 3 evenly spaced values, both ends included
    chunk: 16                  # theory: points solved per vmapped call (default 16)

``{log2: [start, stop, per_octave]}`` puts ``per_octave`` values in each factor of two (default 1).
Every point of the grid is validated as a configuration before anything runs; an error names the axis
and the point. ``axes`` may be empty (a single point).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config import Config, ConfigError, parse_config

__all__ = ["SweepSpec", "load_sweep", "parse_sweep", "grid_points"]

_FIELDS = tuple(Config.model_fields)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _positive_pair(start: float, stop: float) -> None:
    if not (start > 0 and stop > 0 and math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"start and stop must be finite and > 0 (got {start}, {stop})")
    if stop < start:
        raise ValueError(f"stop must be >= start (got start {start}, stop {stop})")


class LogSpace(_Strict):
    """``{logspace: [start, stop, num]}``: num log-spaced values, both ends included."""

    logspace: tuple[float, float, int]

    @field_validator("logspace")
    @classmethod
    def _check(cls, v):
        _positive_pair(v[0], v[1])
        if v[2] < 1:
            raise ValueError(f"num must be >= 1 (got {v[2]})")
        return v

    def values(self) -> list[float]:
        start, stop, num = self.logspace
        return [float(x) for x in np.geomspace(start, stop, num)] if num > 1 else [float(start)]


class Log2(_Strict):
    """``{log2: [start, stop(, per_octave)]}``: start * 2^(k / per_octave) for k = 0, 1, ... up to stop."""

    log2: tuple[float, float] | tuple[float, float, int]

    @field_validator("log2")
    @classmethod
    def _check(cls, v):
        _positive_pair(v[0], v[1])
        if len(v) == 3 and v[2] < 1:
            raise ValueError(f"per_octave must be >= 1 (got {v[2]})")
        return v

    def values(self) -> list[float]:
        start, stop = self.log2[:2]
        per = self.log2[2] if len(self.log2) == 3 else 1
        count = int(math.floor(per * math.log2(stop / start) + 1e-9)) + 1
        return [float(start * 2.0 ** (k / per)) for k in range(count)]


class LinSpace(_Strict):
    """``{linspace: [start, stop, num]}``: num evenly spaced values, both ends included."""

    linspace: tuple[float, float, int]

    @field_validator("linspace")
    @classmethod
    def _check(cls, v):
        if v[2] < 1:
            raise ValueError(f"num must be >= 1 (got {v[2]})")
        return v

    def values(self) -> list[float]:
        start, stop, num = self.linspace
        return [float(x) for x in np.linspace(start, stop, num)]


Axis = Union[LogSpace, Log2, LinSpace, list]
_FORMS = {"logspace": LogSpace, "log2": Log2, "linspace": LinSpace}
_FORMS_TEXT = ("a list of values, {logspace: [start, stop, num]}, {log2: [start, stop(, per_octave)]} "
               "or {linspace: [start, stop, num]}")


def _parse_axis(name: str, axis: Any) -> Axis:
    """One axis -> a value list or a range form; ValueError names the axis and what is allowed."""
    if isinstance(axis, (LogSpace, Log2, LinSpace)):
        return axis
    if isinstance(axis, (list, tuple)):
        if not axis:
            raise ValueError(f"axes.{name}: needs at least one value")
        bad = [v for v in axis if not isinstance(v, (bool, int, float, str, dict))]
        if bad:
            raise ValueError(f"axes.{name}: values must be numbers, strings, booleans or mappings (got {bad[0]!r})")
        return list(axis)
    if isinstance(axis, dict) and len(axis) == 1 and next(iter(axis)) in _FORMS:
        form = next(iter(axis))
        try:
            return _FORMS[form].model_validate(axis)
        except ValidationError as err:
            e = err.errors()[0]
            msg = e["msg"].removeprefix("Value error, ")
            raise ValueError(f"axes.{name}.{form}: {msg} (got {axis[form]!r}); allowed: {_FORMS_TEXT}") from None
    raise ValueError(f"axes.{name}: got {axis!r}; allowed: {_FORMS_TEXT}")


class SweepSpec(_Strict):
    """A validated sweep: ``base`` config, ordered ``axes`` (field -> values) and the theory ``chunk``."""

    base: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, Any] = Field(default_factory=dict)
    chunk: int = Field(16, ge=1, le=4096)

    @field_validator("axes")
    @classmethod
    def _known_fields(cls, axes):
        parsed = {}
        for name, axis in axes.items():
            if name not in _FIELDS:
                raise ValueError(f"axes.{name}: unknown config field; allowed: {', '.join(_FIELDS)}")
            parsed[name] = _parse_axis(name, axis)
            values = axis_values(parsed[name])
            keys = [json.dumps(v, sort_keys=True) for v in values]
            if len(set(keys)) != len(keys):
                raise ValueError(f"axes.{name}: repeated values {values}")
        return parsed

    @model_validator(mode="after")
    def _valid_points(self) -> "SweepSpec":
        try:
            parse_config(self.base)
        except ConfigError as err:
            raise ValueError(f"base: {_indent(str(err))}") from None
        for coords, _ in _iter_points(self):
            try:
                parse_config({**self.base, **coords})
            except ConfigError as err:
                raise ValueError(f"axes point {coords}: {_indent(str(err))}") from None
        return self

    @property
    def names(self) -> list[str]:
        return list(self.axes)

    def values(self) -> dict[str, list]:
        return {name: axis_values(axis) for name, axis in self.axes.items()}

    def to_json(self) -> str:
        """The expanded sweep (explicit value lists): what the result records in its attributes."""
        return json.dumps({"base": self.base, "axes": self.values(), "chunk": self.chunk}, sort_keys=True,
                          default=str)


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def axis_values(axis: Axis) -> list:
    return list(axis) if isinstance(axis, list) else axis.values()


def _iter_points(spec: SweepSpec):
    names = list(spec.axes)
    lists = [axis_values(a) for a in spec.axes.values()]
    for index, combo in zip(itertools.product(*[range(len(v)) for v in lists]), itertools.product(*lists)):
        yield dict(zip(names, combo)), index


def grid_points(spec: SweepSpec) -> list[tuple[tuple[int, ...], Config]]:
    """Every point of the grid in C order: (index tuple, validated Config)."""
    return [(index, parse_config({**spec.base, **coords})) for coords, index in _iter_points(spec)]


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field; allowed at the top level: base, axes, chunk"
        lines.append(f"{loc}: {msg}" if loc and not msg.startswith(("axes", "base")) else msg)
    return "invalid sweep:\n  " + "\n  ".join(dict.fromkeys(lines))


def parse_sweep(data: dict[str, Any] | SweepSpec) -> SweepSpec:
    """Validate a mapping into a :class:`SweepSpec`; raise :class:`ConfigError` naming the field."""
    if isinstance(data, SweepSpec):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"invalid sweep: expected a mapping with base and axes, got {type(data).__name__}")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format(err)) from None


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep file (YAML or JSON)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"sweep file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML/JSON: {err}") from None
    return parse_sweep(data)
