"""The one estimator contract every graphkit estimator and index builder follows.

scikit-learn's conventions, without importing scikit-learn (``sklearn.base`` alone takes about
2 s to import, and the local query side must start fast):

* parameters are the keyword-only arguments of ``__init__``, stored unchanged under the same
  names; they are declared once, there, and :meth:`Estimator.get_params` reads them from the
  signature, so ``sklearn.base.clone`` works on every graphkit estimator;
* ``__init__`` only stores; :meth:`Estimator._validate_params` (each class's ``_validate``)
  checks every parameter, and ``fit`` calls it first, before any Spark action or any data is
  read;
* fitted state lives in attributes ending in ``_``; using a method that needs them before
  ``fit`` raises :class:`NotFittedError`, the same for every class;
* ``fit(graph, progress=None)`` takes the one progress interface of :mod:`graphkit._progress`.

This module does not import pyspark.
"""

from __future__ import annotations

import inspect
import numbers

from graphkit.errors import GraphkitError


class NotFittedError(GraphkitError, ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit`` (or ``load``).

    Derives from ``ValueError`` and ``AttributeError`` as scikit-learn's does, so code written
    for either keeps working.
    """


class Estimator:
    """Base class: ``get_params`` / ``set_params`` / ``clone`` / ``repr`` from the ``__init__``
    signature, one parameter-validation hook and one not-fitted check."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for name, parameter in signature.parameters.items():
            if name == "self":
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must declare its parameters explicitly (no *args/**kwargs)")
            names.append(name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator (``deep`` also lists those of nested estimators as
        ``name__param``, as scikit-learn does)."""
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and isinstance(value, Estimator):
                params.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
        return params

    def set_params(self, **params) -> "Estimator":
        """Set parameters (``name__param`` reaches into a nested estimator); returns ``self``.
        Values are validated by the next ``fit``."""
        valid = set(self._param_names())
        for key, value in params.items():
            name, _, nested = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {', '.join(sorted(valid))}")
            if nested:
                getattr(self, name).set_params(**{nested: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                   if not _same(v, defaults.get(k, inspect.Parameter.empty))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _validate(self) -> None:
        """Check every parameter; raise ``ValueError`` (or ``TypeError``) naming the first bad one.
        Subclasses override it; ``fit`` calls :meth:`_validate_params` before any work."""

    def _validate_params(self) -> None:
        self._validate()

    def _check_fitted(self, *attributes: str) -> None:
        """Raise :class:`NotFittedError` unless every named fitted attribute is set."""
        for name in attributes:
            if getattr(self, name, None) is None:
                raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")


def clone(estimator: Estimator) -> Estimator:
    """A new unfitted estimator with the same parameters (``sklearn.base.clone`` gives the same)."""
    import copy

    params = {k: copy.deepcopy(v) for k, v in estimator.get_params(deep=False).items()}
    return type(estimator)(**params)


def _same(value, default) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:  # arrays and the like: always shown
        return False


# -- parameter checks, shared by every capability (run in _validate, never inside kernels) --------
def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_optional_positive_int(name: str, value) -> int | None:
    """``None``, or :func:`check_positive_int`."""
    return None if value is None else check_positive_int(name, value)


def check_number(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is a finite real number
    in the given range (closed ends unless ``low_open`` / ``high_open``)."""
    import math

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    x = float(value)
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return x


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` unless it is not one of ``choices`` (``ValueError`` listing them)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_seed(value) -> int:
    """A seed: any integer >= 0 (``ValueError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {value!r}")
    return int(value)
