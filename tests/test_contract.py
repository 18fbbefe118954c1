"""One estimator contract for every Spark-side estimator and local index builder (graphkit.base)."""

from __future__ import annotations

import inspect

import pytest

from graphkit.base import Estimator, NotFittedError, clone
from graphkit.embed.spark import RecursivePartitionEmbedding
from graphkit.lsh.spark import NeighbourhoodSignatures
from graphkit.ppr import PPRIndex
from graphkit.ppr.spark import FullyPersonalizedPageRank

# class, a changed parameter, a bad value of one parameter (named in the error), a method that needs fit
CASES = [
    (FullyPersonalizedPageRank, {"walks": 500, "top_k": 7}, ("walks", 0), lambda e, tmp: e.transform()),
    (PPRIndex, {"walks": 500, "seed": 3}, ("walks", 0), lambda e, tmp: e.query(0, k=5)),
    (RecursivePartitionEmbedding, {"dim": 16, "max_part_size": 500}, ("dim", 0), lambda e, tmp: e.transform()),
    (NeighbourhoodSignatures, {"num_perm": 64, "seed": 5}, ("num_perm", 0), lambda e, tmp: e.save(tmp / "x")),
]
IDS = [case[0].__name__ for case in CASES]


class Untouchable:
    """A graph that fails the test if fit looks at it before validating its parameters."""

    def __getattr__(self, name):
        raise AssertionError(f"fit touched the graph ({name}) before validating its parameters")


@pytest.mark.parametrize("cls, changed, bad, needs_fit", CASES, ids=IDS)
def test_parameters_are_declared_once_in_init(cls, changed, bad, needs_fit):
    assert issubclass(cls, Estimator)
    signature = inspect.signature(cls.__init__)
    params = [p for name, p in signature.parameters.items() if name != "self"]
    assert params and all(p.kind is p.KEYWORD_ONLY for p in params)
    est = cls(**changed)
    assert sorted(est.get_params(deep=False)) == sorted(p.name for p in params)
    assert {k: est.get_params()[k] for k in changed} == changed
    for name, value in changed.items():
        assert f"{name}={value!r}" in repr(est)


@pytest.mark.parametrize("cls, changed, bad, needs_fit", CASES, ids=IDS)
def test_set_params_and_clone(cls, changed, bad, needs_fit):
    import sklearn.base

    est = cls()
    assert est.set_params(**changed) is est and {k: getattr(est, k) for k in changed} == changed
    with pytest.raises(ValueError, match="invalid parameter 'no_such_thing'"):
        est.set_params(no_such_thing=1)
    for copy in (clone(est), sklearn.base.clone(est)):
        assert type(copy) is cls and copy is not est
        assert repr(copy) == repr(est)
        assert all(copy.get_params(deep=False)[k] == v for k, v in changed.items())


@pytest.mark.parametrize("cls, changed, bad, needs_fit", CASES, ids=IDS)
def test_fit_validates_every_parameter_before_any_work(cls, changed, bad, needs_fit):
    name, value = bad
    with pytest.raises(ValueError, match=name):
        cls(**{name: value}).fit(Untouchable())
    assert "progress" in inspect.signature(cls.fit).parameters


@pytest.mark.parametrize("cls, changed, bad, needs_fit", CASES, ids=IDS)
def test_one_not_fitted_error(cls, changed, bad, needs_fit, tmp_path):
    with pytest.raises(NotFittedError, match=f"this {cls.__name__} is not fitted yet"):
        needs_fit(cls(), tmp_path)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_the_contract_lists_every_estimator():
    """A new estimator in graphkit must join CASES above."""
    import importlib
    import pkgutil

    import graphkit

    found = set()
    for info in pkgutil.walk_packages(graphkit.__path__, "graphkit."):
        if info.name.endswith((".job", "__main__")) or ".jobs" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Estimator) and obj is not Estimator and obj.__module__ == info.name:
                found.add(obj)
    assert found == {case[0] for case in CASES}
