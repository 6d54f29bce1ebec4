"""The public surface: few deliberate names, a sorted and complete ``__all__``, docstrings."""

from __future__ import annotations

import inspect
import pkgutil
from types import ModuleType

import pytest

import heymarket_async
from heymarket_async import errors, models

PUBLIC_MODULES = [heymarket_async, errors, models]


def _public_names(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }


class TestAll:
    def test_sorted_constants_first(self) -> None:
        names = [n for n in heymarket_async.__all__ if n != "__version__"]
        assert names == sorted(names, key=lambda n: (not n.isupper(), n))
        assert len(set(heymarket_async.__all__)) == len(heymarket_async.__all__)

    @pytest.mark.parametrize("module", [errors, models])
    def test_every_public_name_of_errors_and_models_is_exported_at_the_top(
        self, module: ModuleType
    ) -> None:
        assert set(module.__all__) <= set(heymarket_async.__all__)
        assert _public_names(module) <= set(module.__all__)
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))

    def test_the_top_level_exports_exactly_these(self) -> None:
        assert set(heymarket_async.__all__) == {
            *errors.__all__,
            *models.__all__,
            "HeymarketClient",
            "Hooks",
            "RequestEvent",
            "RetryPolicy",
            "V1ContactPager",
            "V1Position",
            "V2ContactPager",
            "V2Position",
            "__version__",
        }
        for name in heymarket_async.__all__:
            assert hasattr(heymarket_async, name), name

    def test_the_version_is_a_string(self) -> None:
        assert isinstance(heymarket_async.__version__, str)
        assert heymarket_async.__version__.count(".") >= 1


def _public_members(cls: type) -> list[tuple[str, object]]:
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
            out.append((name, value))
    return out


class TestDocstrings:
    def test_every_module_has_one(self) -> None:
        for info in pkgutil.iter_modules(heymarket_async.__path__, "heymarket_async."):
            if info.name.startswith("heymarket_async.testing"):
                continue  # another branch's package
            module = __import__(info.name, fromlist=["_"])
            assert module.__doc__, info.name

    def test_every_public_class_and_its_public_members_have_one(self) -> None:
        missing = []
        for name in heymarket_async.__all__:
            value = getattr(heymarket_async, name)
            if not inspect.isclass(value):
                continue
            if not (value.__doc__ or "").strip():
                missing.append(name)
            classes = [value]
            if value is heymarket_async.HeymarketClient:
                classes.append(type(heymarket_async.HeymarketClient("k-123456").v2))
            for cls in classes:
                for member, obj in _public_members(cls):
                    fn = obj.fget if isinstance(obj, property) else obj
                    if not (getattr(fn, "__doc__", None) or "").strip():
                        missing.append(f"{cls.__name__}.{member}")
        assert missing == []
