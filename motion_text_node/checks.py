"""Predicates for values read from files, messages and parameters: a bool is not a number here (JSON/YAML ``true``
passes ``isinstance(x, int)``), and complex values are not real (numpy would drop their imaginary part)."""

from __future__ import annotations

import math

import numpy as np


def is_int(value: object) -> bool:
    """A Python int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """An int or float (not a bool) that is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def real_array(values: np.ndarray) -> bool:
    """An array of real numbers: numeric dtype, not complex (strings, objects and complex values are not)."""
    return np.issubdtype(values.dtype, np.number) and not np.iscomplexobj(values)
