"""The one configuration schema shared by theory and simulation (see docs/model.md).

Every symbol is defined once, here and in ``docs/model.md``:

* ``alpha = P/D`` (``inf``: online SGD, then ``batch = B/D`` is required),
* ``nu = N/D`` (``inf``: infinite width, theory only),
* ``gamma0`` the feature-learning strength, ``eta`` the dimensionless learning rate,
* ``depth = L`` hidden layers, ``residual`` with branch scale ``beta_res / sqrt(L)``.

Under ``parameterization: ntk`` the user gives ``gamma`` in the ``gamma0`` field and the model used is
the point ``gamma0 = gamma / sqrt(nu)`` of the family; :func:`resolve` records both.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Config",
    "ConfigError",
    "Isotropic",
    "PowerLaw",
    "load_config",
    "parse_config",
    "resolve",
    "sizes",
]


class ConfigError(ValueError):
    """Bad user input: the message names the field and the allowed range."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Isotropic(_Strict):
    """Sigma = I, beta_star ~ N(0, I_D): E y^2 = 1 + sigma^2."""

    kind: Literal["isotropic"] = "isotropic"


class PowerLaw(_Strict):
    """lambda_k = k^(-a) (top eigenvalue fixed to 1), target power lambda_k b_k ∝ k^(-(a s + 1)).

    Normalisation (documented in docs/model.md and recorded in every output): the top eigenvalue is 1
    and sum_k lambda_k b_k / D = 1, so E y^2 = 1 + sigma^2 at every D and D only truncates the
    spectrum at k = D.
    """

    kind: Literal["powerlaw"] = "powerlaw"
    a: float = Field(gt=1.0, allow_inf_nan=False, description="capacity exponent a > 1")
    s: float = Field(gt=0.0, allow_inf_nan=False, description="source exponent s > 0")


Spectrum = Annotated[Union[Isotropic, PowerLaw], Field(discriminator="kind")]

_RANGES = {
    "depth": "an integer from 1 to 4096",
    "residual": "true or false",
    "beta_res": "a number in (0, 1e3]",
    "nu": "a number in (0, 1e6], or .inf",
    "parameterization": "'mup' or 'ntk'",
    "gamma0": "a number in (0, 1e6]",
    "alpha": "a number in (0, 1e6], or .inf for online SGD",
    "batch": "null, or a number in (0, 1e6] (online SGD only)",
    "noise": "a number in [0, 1e6]",
    "spectrum": "{kind: isotropic} or {kind: powerlaw, a: > 1, s: > 0}",
    "eta": "a number in (0, 1e3]",
    "steps": "an integer from 1 to 10^6",
    "dim": "null, or an integer from 2 to 10^6",
    "seeds": "an integer from 1 to 10^5",
}


def _positive_or_inf(name: str, value: float) -> float:
    if math.isnan(value) or value <= 0:
        raise ValueError("must be > 0 or .inf")
    return value


class Config(_Strict):
    """A deep linear network, its data and its training run (docs/model.md, 'Configuration')."""

    depth: int = Field(2, ge=1, le=4096, description="L, number of hidden layers")
    residual: bool = False
    beta_res: float = Field(1.0, gt=0.0, le=1e3, allow_inf_nan=False)
    nu: float = Field(1.0, description="N/D")
    parameterization: Literal["mup", "ntk"] = "mup"
    gamma0: float = Field(1.0, gt=0.0, le=1e6, allow_inf_nan=False)
    alpha: float = Field(2.0, description="P/D; inf = online SGD")
    batch: float | None = Field(None, gt=0.0, le=1e6, allow_inf_nan=False, description="B/D, online only")
    noise: float = Field(0.0, ge=0.0, le=1e6, allow_inf_nan=False, description="label noise sigma")
    spectrum: Spectrum = Field(default_factory=Isotropic)
    eta: float = Field(0.1, gt=0.0, le=1e3, allow_inf_nan=False)
    steps: int = Field(200, ge=1, le=1_000_000, description="T")
    dim: int | None = Field(None, ge=2, le=1_000_000, description="D, simulation only")
    seeds: int = Field(8, ge=1, le=100_000)

    @field_validator("depth", "beta_res", "nu", "gamma0", "alpha", "batch", "noise", "eta", "steps", "dim", "seeds", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML `true` is not a number
            raise ValueError(f"must be a number, not {str(value).lower()}")
        return value

    @field_validator("nu", "alpha")
    @classmethod
    def _ratio(cls, value: float, info) -> float:
        value = _positive_or_inf(info.field_name, value)
        if not math.isinf(value) and value > 1e6:
            raise ValueError("must be at most 1e6, or .inf")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if math.isinf(self.alpha) and self.batch is None:
            raise ValueError("batch: online SGD (alpha: .inf) needs batch = B/D > 0")
        if not math.isinf(self.alpha) and self.batch is not None:
            raise ValueError(
                "batch: only for online SGD; set alpha: .inf, or batch: null for full-batch GD"
            )
        return self

    # -- derived quantities (never stored twice) ------------------------------------------------
    @property
    def online(self) -> bool:
        return math.isinf(self.alpha)

    @property
    def gamma0_effective(self) -> float:
        """gamma0 of the model family: muP keeps gamma0; NTK maps gamma -> gamma / sqrt(nu)."""
        if self.parameterization == "ntk":
            return 0.0 if math.isinf(self.nu) else self.gamma0 / math.sqrt(self.nu)
        return self.gamma0

    @property
    def branch_scale(self) -> tuple[float, float]:
        """(s, a) in h^{l+1} = s h^l + a W^l h^l / sqrt(N): plain (0, 1), residual (1, beta_res/sqrt(L))."""
        if self.residual:
            return 1.0, self.beta_res / math.sqrt(self.depth)
        return 0.0, 1.0

    def replace(self, **changes: Any) -> "Config":
        """A new validated config with some fields changed."""
        return parse_config({**self.model_dump(), **changes})


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"] if not str(p).startswith(("function-", "tagged-union"))]
        loc = [p for i, p in enumerate(loc) if not (i == 1 and loc[0] == "spectrum" and p in ("isotropic", "powerlaw"))]
        msg = e["msg"].removeprefix("Value error, ")
        field = ".".join(loc) if loc else msg.split(":", 1)[0]
        if not loc and ":" in msg:
            msg = msg.split(":", 1)[1].strip()
        top = loc[0] if loc else field
        allowed = _RANGES.get(top, "")
        if e["type"] == "extra_forbidden":
            names = "kind, a, s (powerlaw) or kind (isotropic)" if top == "spectrum" else ", ".join(_RANGES)
            msg = f"unknown field; allowed fields: {names}"
            allowed = ""
        got = e.get("input")
        got_txt = "" if e["type"] in ("extra_forbidden", "missing") or not loc else f" (got {got!r})"
        lines.append(f"{field}: {msg}{got_txt}" + (f"; allowed: {allowed}" if allowed else ""))
    return "invalid configuration:\n  " + "\n  ".join(lines)


def parse_config(data: dict[str, Any] | Config | None = None, **overrides: Any) -> Config:
    """Validate a mapping (YAML/JSON/Python) into a :class:`Config`; raise :class:`ConfigError`."""
    if isinstance(data, Config):
        data = data.model_dump()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration: expected a mapping of fields, got {type(data).__name__}")
    try:
        return Config.model_validate({**data, **overrides})
    except ValidationError as err:
        raise ConfigError(_format_errors(err)) from None


def load_config(path: str | Path, **overrides: Any) -> Config:
    """Read a YAML or JSON file (``.inf`` / ``"inf"`` allowed for nu and alpha)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"config file: {path} is not a file")
    try:
        data = yaml.safe_load(path.read_text())  # YAML is a superset of JSON
    except UnicodeDecodeError:
        raise ConfigError(f"config file: {path} is not a text (UTF-8) YAML/JSON file") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise ConfigError(f"config file: {path} is not valid YAML/JSON{at}: {getattr(err, 'problem', err)}") from None
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return parse_config(data, **overrides)


def sizes(config: Config, dim: int | None = None) -> dict[str, int]:
    """The finite sizes D, N and P (full batch) or B (online) used by a simulation."""
    dim = dim if dim is not None else config.dim
    if dim is None:
        raise ConfigError("dim: a simulation needs D; allowed: an integer >= 2 (set dim or --dim)")
    if isinstance(dim, bool) or not isinstance(dim, int) or not 2 <= dim <= 1_000_000:
        raise ConfigError(f"dim: must be an integer from 2 to 10^6 (got {dim!r})")
    if math.isinf(config.nu):
        raise ConfigError("nu: a simulation needs a finite width; allowed: a number > 0")
    out = {"D": int(dim), "N": max(1, round(config.nu * dim))}
    if config.online:
        out["B"] = max(1, round(config.batch * dim))
    else:
        out["P"] = max(1, round(config.alpha * dim))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def spectrum_description(config: Config) -> str:
    """The data normalisation, stated in every output."""
    sp = config.spectrum
    if isinstance(sp, PowerLaw):
        return (
            f"powerlaw: lambda_k = k^-{sp.a} (lambda_1 = 1), lambda_k b_k ∝ k^-({sp.a}*{sp.s}+1), "
            "normalised so sum_k lambda_k b_k / D = 1 (E y^2 = 1 + sigma^2); D truncates at k = D"
        )
    return "isotropic: Sigma = I, beta_star ~ N(0, I)"


def resolve(config: Config, dim: int | None = None) -> dict[str, Any]:
    """The resolved configuration stored in every output (JSON-safe: inf is the string "inf").

    ``gamma0`` is the model-family value after the NTK mapping; under NTK the user's value is kept
    as ``gamma``. For simulations (``dim`` given) D, N and P or B are added.
    """
    out = config.model_dump()
    if config.parameterization == "ntk":
        out["gamma"] = config.gamma0
    out["gamma0"] = config.gamma0_effective
    out["spectrum_normalisation"] = spectrum_description(config)
    if dim is not None:
        out["dim"] = int(dim)
        out.update(sizes(config, dim))
    return _jsonable(out)


def config_to_json(config: Config) -> str:
    return json.dumps(_jsonable(config.model_dump()))
