"""Input checks shared by the calculators; each raises ValidationError naming the field."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt

from nexus.errors import ValidationError

from . import kernels

FloatArray = npt.NDArray[np.float64]

MAX_HORIZON_DAYS = 250


def check_confidence(value: Any, field: str = "confidence") -> float:
    """A confidence level strictly inside (0.5, 1)."""
    if type(value) is float and 0.5 < value < 1.0:  # the common case, without ABC checks
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValidationError(f"{field} must be a number in (0.5, 1)", field)
    c = float(value)
    if not (0.5 < c < 1.0):
        raise ValidationError(f"{field} must be in (0.5, 1), got {value!r}", field)
    return c


def check_horizon(value: Any, field: str = "horizon_days") -> int:
    """A horizon in whole trading days, 1..250."""
    if type(value) is int and 1 <= value <= MAX_HORIZON_DAYS:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{field} must be an integer number of days", field)
    h = int(value)
    if not 1 <= h <= MAX_HORIZON_DAYS:
        raise ValidationError(f"{field} must be in 1..{MAX_HORIZON_DAYS}, got {h}", field)
    return h


def check_int(value: Any, field: str, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or numpy, never ``bool``) in ``low..high`` (bounds optional)."""
    if type(value) is int and (low is None or value >= low) and (high is None or value <= high):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{field} must be an integer", field)
    x = int(value)
    if (low is not None and x < low) or (high is not None and x > high):
        span = f"{'' if low is None else low}..{'' if high is None else high}"
        raise ValidationError(f"{field} must be in {span}, got {x}", field)
    return x


def check_unit_interval(value: Any, field: str, *, open_low: bool = True) -> float:
    """A number in (0, 1) (or [0, 1) with ``open_low=False``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValidationError(f"{field} must be a number", field)
    x = float(value)
    low_ok = x > 0.0 if open_low else x >= 0.0
    if not (low_ok and x < 1.0):
        raise ValidationError(f"{field} must be in (0, 1), got {value!r}", field)
    return x


def check_finite_number(value: Any, field: str) -> float:
    """Any finite real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValidationError(f"{field} must be a number", field)
    x = float(value)
    if not math.isfinite(x):
        raise ValidationError(f"{field} must be finite", field)
    return x


def as_numeric_matrix(value: Any, field: str, *, min_rows: int = 1) -> FloatArray:
    """A C-contiguous float64 ``(T, N)`` matrix, shape checked but **values not scanned**.

    For hot paths whose result proves finiteness (a NaN or inf in the input reaches the
    output); they call :func:`as_matrix` only when the result is not finite, for the error.
    """
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} must be a numeric matrix", field) from exc
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValidationError(f"{field} must be 2-D (days x assets), got {arr.shape}", field)
    if arr.shape[0] < min_rows:
        raise ValidationError(f"{field} needs at least {min_rows} rows", field)
    return arr


def as_matrix(value: Any, field: str, *, allow_nan: bool = False, min_rows: int = 1) -> FloatArray:
    """A C-contiguous float64 ``(T, N)`` matrix with ``T >= min_rows`` and ``N >= 1``."""
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} must be a numeric matrix", field) from exc
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValidationError(f"{field} must be 2-D (days x assets), got {arr.shape}", field)
    if arr.shape[0] < min_rows:
        raise ValidationError(f"{field} needs at least {min_rows} rows", field)
    bad = np.isinf(arr).any() if allow_nan else not np.isfinite(arr).all()
    if bad:
        raise ValidationError(f"{field} must be finite", field)
    return arr


def as_vector(
    value: Any, field: str, *, length: int | None = None, min_length: int = 1
) -> FloatArray:
    """A finite C-contiguous float64 vector (of exactly ``length`` if given)."""
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} must be a numeric vector", field) from exc
    if arr.ndim != 1:
        raise ValidationError(f"{field} must be 1-D, got shape {arr.shape}", field)
    if length is not None and arr.shape[0] != length:
        raise ValidationError(f"{field} must have length {length}, got {arr.shape[0]}", field)
    if arr.shape[0] < min_length:
        raise ValidationError(f"{field} needs at least {min_length} values", field)
    if not kernels.all_finite_kernel(arr):
        raise ValidationError(f"{field} must be finite", field)
    return arr


def as_covariance(value: Any, field: str = "covariance") -> FloatArray:
    """A finite, square, symmetric float64 matrix (PSD is the caller's promise)."""
    arr = as_numeric_matrix(value, field)
    n = arr.shape[0]
    if arr.shape != (n, n):
        raise ValidationError(f"{field} must be square, got {arr.shape}", field)
    code = kernels.covariance_check_kernel(arr, 1e-12)  # one pass, no temporaries
    if code == kernels.COV_NOT_FINITE:
        raise ValidationError(f"{field} must be finite", field)
    if code == kernels.COV_ASYMMETRIC:
        raise ValidationError(f"{field} must be symmetric", field)
    if code == kernels.COV_NEGATIVE_DIAG:
        raise ValidationError(f"{field} must have a non-negative diagonal", field)
    return arr
