"""The one configuration schema shared by theory and simulation (see docs/model.md).

Every symbol is defined once, here and in ``docs/model.md``:

* ``alpha = P/D`` (``inf``: online SGD, then ``batch = B/D`` is required),
* ``nu = N/D`` (``inf``: infinite width, theory only),
* ``gamma0`` the feature-learning strength, ``eta`` the dimensionless learning rate,
* ``depth = L`` hidden layers, ``residual`` with branch scale ``beta_res / sqrt(L)`` (or ``beta_res`` with
  ``branch_scaling: constant``); ``depth: .inf`` is the infinite-depth limit of such a residual net
  (theory only).

Under ``parameterization: ntk`` the user gives ``gamma`` in the ``gamma0`` field and the model used is
the point ``gamma0 = gamma / sqrt(nu)`` of the family; :func:`resolve` records both.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Config",
    "ConfigError",
    "Custom",
    "Isotropic",
    "PowerLaw",
    "custom_arrays",
    "load_config",
    "parse_config",
    "resolve",
    "sizes",
    "spectrum_dim",
]


class ConfigError(ValueError):
    """Bad user input: the message names the field and the allowed range."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Isotropic(_Strict):
    """Sigma = I, beta_star ~ N(0, I_D): E y^2 = 1 + sigma^2."""

    kind: Literal["isotropic"] = "isotropic"


#: how the teacher's amplitude per mode is drawn for anisotropic spectra: ``fixed`` beta_star_k =
#: +-sqrt(b_k) (random signs), ``gaussian`` beta_star_k ~ N(0, b_k). A few top modes carry O(1) of the
#: target, so with Gaussian amplitudes the learning curve depends on the draw and, with feature
#: learning, its mean over teachers differs from the DMFT (which averages the target power mode by
#: mode); with fixed amplitudes the DMFT is the mean curve (docs/theory.md, Sec. 12).
Teacher = Literal["fixed", "gaussian"]


class PowerLaw(_Strict):
    """lambda_k = k^(-a) (top eigenvalue fixed to 1), target power lambda_k b_k ∝ k^(-(a s + 1)).

    Normalisation (documented in docs/model.md and recorded in every output): the top eigenvalue is 1
    and sum_k lambda_k b_k / D = 1, so E y^2 = 1 + sigma^2 at every D and D only truncates the
    spectrum at k = D. ``teacher``: amplitudes beta_star_k = +-sqrt(b_k) (``fixed``, the default) or
    N(0, b_k) (``gaussian``).
    """

    kind: Literal["powerlaw"] = "powerlaw"
    a: float = Field(gt=1.0, allow_inf_nan=False, description="capacity exponent a > 1")
    s: float = Field(gt=0.0, allow_inf_nan=False, description="source exponent s > 0")
    teacher: Teacher = "fixed"


def _read_numbers(path: Path) -> np.ndarray:
    """The raw array of a .npy file, or of a text file of numbers (whitespace separated)."""
    if path.suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ValueError(f"not a readable .npy file ({err})") from None
    try:
        return np.loadtxt(path, dtype=float, ndmin=1)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"not a text file of numbers ({err})") from None


@lru_cache(maxsize=32)
def _read_cached(path: str, _mtime_ns: int, _size: int, zero_ok: bool) -> np.ndarray:
    arr = _read_numbers(Path(path))
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"must hold a 1-D array of real numbers, not shape {arr.shape} of dtype {arr.dtype}")
    arr = arr.astype(float)
    if not 2 <= arr.size <= 1_000_000:
        raise ValueError(f"must hold from 2 to 10^6 numbers, one per mode, not {arr.size}")
    bad = ~np.isfinite(arr) | ((arr < 0) if zero_ok else (arr <= 0))
    if bad.any():
        k = int(np.argmax(bad))
        need = "finite and >= 0" if zero_ok else "finite and > 0"
        raise ValueError(f"every entry must be {need}; entry {k} is {float(arr[k])!r}")
    arr.setflags(write=False)  # cached: shared by every caller
    return arr


def _read_spectrum_file(path: str, zero_ok: bool) -> np.ndarray:
    """A validated 1-D array of finite numbers, > 0 (>= 0 if ``zero_ok``), re-read when the file changes."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"file not found: {path}")
    stat = p.stat()
    return _read_cached(str(p.resolve()), stat.st_mtime_ns, stat.st_size, zero_ok)


class Custom(_Strict):
    """Any diagonal spectrum, read from two files of D numbers each (.npy, or text: numbers separated by
    whitespace): ``eigenvalues`` lambda_k > 0 and ``target`` b_k = E beta_star_k^2 >= 0 (the teacher's
    variance per mode, not the power lambda_k b_k), k = 1..D.

    Normalisation: none; both arrays are used as given, so E y^2 = sum_k lambda_k b_k / D + sigma^2
    (recorded in every output). The file length is D: ``dim`` must equal it or be null. Relative paths
    are relative to the working directory, or to the config file's folder when read by ``load_config``.
    """

    kind: Literal["custom"] = "custom"
    eigenvalues: str = Field(min_length=1, description="file of lambda_k, k = 1..D")
    target: str = Field(min_length=1, description="file of b_k = E beta_star_k^2, k = 1..D")
    teacher: Teacher = "fixed"

    @field_validator("eigenvalues", "target")
    @classmethod
    def _readable(cls, value: str, info) -> str:
        _read_spectrum_file(value, zero_ok=info.field_name == "target")
        return value

    @model_validator(mode="after")
    def _same_length(self) -> "Custom":
        lam, b = custom_arrays(self)
        if lam.size != b.size:
            raise ValueError(
                f"eigenvalues and target must have one entry per mode, the same length D "
                f"(got {lam.size} in {self.eigenvalues} and {b.size} in {self.target})"
            )
        return self


def custom_arrays(sp: Custom) -> tuple[np.ndarray, np.ndarray]:
    """(lambda_k, b_k) of a custom spectrum, read-only arrays."""
    return _read_spectrum_file(sp.eigenvalues, zero_ok=False), _read_spectrum_file(sp.target, zero_ok=True)


Spectrum = Annotated[Union[Isotropic, PowerLaw, Custom], Field(discriminator="kind")]

_RANGES = {
    "depth": "an integer from 1 to 4096, or .inf (residual: true with branch_scaling: sqrt_depth; theory only)",
    "residual": "true or false",
    "beta_res": "a number in (0, 1e3]",
    "branch_scaling": "'sqrt_depth' (branch scale beta_res/sqrt(L)) or 'constant' (beta_res)",
    "nu": "a number in (0, 1e6], or .inf",
    "parameterization": "'mup' or 'ntk'",
    "gamma0": "a number in (0, 1e6]",
    "alpha": "a number in (0, 1e6], or .inf for online SGD",
    "batch": "null, or a number in (0, 1e6] (online SGD only)",
    "noise": "a number in [0, 1e6]",
    "spectrum": (
        "{kind: isotropic}, {kind: powerlaw, a: > 1, s: > 0} or {kind: custom, eigenvalues: FILE, target: FILE}"
        " (power law and custom: optional teacher: fixed | gaussian)"
    ),
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

    depth: int | float = Field(2, description="L, number of hidden layers; .inf: the infinite-depth limit")
    residual: bool = False
    beta_res: float = Field(1.0, gt=0.0, le=1e3, allow_inf_nan=False)
    branch_scaling: Literal["sqrt_depth", "constant"] = "sqrt_depth"
    nu: float = Field(1.0, description="N/D")
    parameterization: Literal["mup", "ntk"] = "mup"
    gamma0: float = Field(1.0, gt=0.0, le=1e6, allow_inf_nan=False)
    alpha: float = Field(2.0, description="P/D; inf = online SGD")
    batch: float | None = Field(None, gt=0.0, le=1e6, allow_inf_nan=False, description="B/D, online only")
    noise: float = Field(0.0, ge=0.0, le=1e6, allow_inf_nan=False, description="label noise sigma")
    spectrum: Spectrum = Field(default_factory=Isotropic)
    eta: float = Field(0.1, gt=0.0, le=1e3, allow_inf_nan=False)
    steps: int = Field(200, ge=1, le=1_000_000, description="T")
    dim: int | None = Field(None, ge=2, le=1_000_000, description="D: simulation size; defines a powerlaw spectrum")
    seeds: int = Field(8, ge=1, le=100_000)

    @field_validator("depth", "beta_res", "nu", "gamma0", "alpha", "batch", "noise", "eta", "steps", "dim", "seeds", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML `true` is not a number
            raise ValueError(f"must be a number, not {str(value).lower()}")
        return value

    @field_validator("depth", mode="before")
    @classmethod
    def _depth(cls, value: Any) -> Any:
        """An integer from 1 to 4096 (3.0 counts as 3), or .inf; which nets allow .inf: ``_consistent``."""
        if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", ".inf", "+.inf", "infinity"):
            return math.inf
        if isinstance(value, bool):
            return value  # named by _not_bool
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be an integer or .inf") from None
        if number == math.inf:
            return math.inf
        if not number.is_integer():
            raise ValueError("must be a whole number or .inf")
        if not 1 <= number <= 4096:
            raise ValueError("must be from 1 to 4096, or .inf")
        return int(number)

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
        if math.isinf(self.depth) and not (self.residual and self.branch_scaling == "sqrt_depth"):
            raise ValueError(
                "depth: .inf is the infinite-depth limit of a residual net with branch scale beta_res/sqrt(L); "
                "allowed: an integer from 1 to 4096, or .inf with residual: true and branch_scaling: sqrt_depth"
            )
        spectrum_dim(self, self.dim)  # a custom spectrum fixes D
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
        """(s, a) in h^{l+1} = s h^l + a W^l h^l / sqrt(N): plain (0, 1), residual (1, beta_res/sqrt(L)),
        or (1, beta_res) with ``branch_scaling: constant`` (a depth-independent branch, for comparison)."""
        if self.residual:
            scale = math.sqrt(self.depth) if self.branch_scaling == "sqrt_depth" else 1.0  # depth .inf: a = 0
            return 1.0, self.beta_res / scale
        return 0.0, 1.0

    def replace(self, **changes: Any) -> "Config":
        """A new validated config with some fields changed."""
        return parse_config({**self.model_dump(), **changes})


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"] if not str(p).startswith(("function-", "tagged-union"))]
        kinds = ("isotropic", "powerlaw", "custom")
        loc = [p for i, p in enumerate(loc) if not (i == 1 and loc[0] == "spectrum" and p in kinds)]
        msg = e["msg"].removeprefix("Value error, ")
        field = ".".join(loc) if loc else msg.split(":", 1)[0]
        if not loc and ":" in msg:
            msg = msg.split(":", 1)[1].strip()
        top = loc[0] if loc else field
        allowed = _RANGES.get(top, "")
        if e["type"] == "extra_forbidden":
            names = (
                "kind, a, s (powerlaw), kind, eigenvalues, target (custom) or kind (isotropic)"
                if top == "spectrum"
                else ", ".join(_RANGES)
            )
            msg = f"unknown field; allowed fields: {names}"
            allowed = ""
        got = e.get("input")
        got_txt = "" if e["type"] in ("extra_forbidden", "missing") or not loc else f" (got {got!r})"
        allowed = "" if "allowed:" in msg else allowed  # the message already says it
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
    return parse_config(_files_relative_to(data, path.parent), **overrides)


def _files_relative_to(data: Any, folder: Path) -> Any:
    """A custom spectrum's relative file paths, read as relative to the config file's folder."""
    sp = data.get("spectrum") if isinstance(data, dict) else None
    if not (isinstance(sp, dict) and sp.get("kind") == "custom"):
        return data
    files = {k: sp[k] for k in ("eigenvalues", "target") if isinstance(sp.get(k), str)}
    relative = {k: str(folder / v) for k, v in files.items() if not Path(v).is_absolute()}
    return {**data, "spectrum": {**sp, **relative}}


def spectrum_dim(config: Config, dim: int | None = None) -> int | None:
    """D of the data: ``dim`` (else ``config.dim``); a custom spectrum has D = its file length, so a
    null dim means that length and any other value is refused (ConfigError naming dim)."""
    dim = dim if dim is not None else config.dim
    if not isinstance(config.spectrum, Custom):
        return dim
    modes = custom_arrays(config.spectrum)[0].size
    if dim is not None and dim != modes:
        raise ConfigError(
            f"dim: a custom spectrum has D = {modes} modes (its file length); allowed: dim: {modes} or null "
            f"(got {dim!r})"
        )
    return modes


def sizes(config: Config, dim: int | None = None) -> dict[str, int]:
    """The finite sizes D, N and P (full batch) or B (online) used by a simulation."""
    dim = spectrum_dim(config, dim)
    if dim is None:
        raise ConfigError("dim: a simulation needs D; allowed: an integer >= 2 (set dim or --dim)")
    if isinstance(dim, bool) or not isinstance(dim, int) or not 2 <= dim <= 1_000_000:
        raise ConfigError(f"dim: must be an integer from 2 to 10^6 (got {dim!r})")
    if math.isinf(config.nu):
        raise ConfigError("nu: a simulation needs a finite width; allowed: a number > 0")
    if math.isinf(config.depth):
        raise ConfigError("depth: a simulation needs a finite depth; allowed: an integer from 1 to 4096")
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


def _teacher_description(teacher: str) -> str:
    return "teacher beta_star_k = +-sqrt(b_k)" if teacher == "fixed" else "teacher beta_star_k ~ N(0, b_k)"


def spectrum_description(config: Config) -> str:
    """The data normalisation, stated in every output."""
    sp = config.spectrum
    if isinstance(sp, PowerLaw):
        return (
            f"powerlaw: lambda_k = k^-{sp.a} (lambda_1 = 1), lambda_k b_k ∝ k^-({sp.a}*{sp.s}+1), "
            "normalised so sum_k lambda_k b_k / D = 1 (E y^2 = 1 + sigma^2); D truncates at k = D; "
            + _teacher_description(sp.teacher)
        )
    if isinstance(sp, Custom):
        lam, b = custom_arrays(sp)
        return (
            f"custom: lambda_k from {sp.eigenvalues}, b_k = E beta_star_k^2 from {sp.target}, D = {lam.size} "
            f"modes, used as given (no rescaling): lambda_max = {lam.max():.6g}, sum_k lambda_k / D = "
            f"{lam.mean():.6g}, sum_k lambda_k b_k / D = {np.mean(lam * b):.6g} (E y^2 = this + sigma^2); "
            + _teacher_description(sp.teacher)
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
