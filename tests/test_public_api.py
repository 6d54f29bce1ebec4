"""The public surface: few deliberate names, a sorted and complete ``__all__``, docstrings."""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys
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
            "ContactFields",
            "HeymarketClient",
            "Hooks",
            "LocalRateLimiter",
            "RateLimiter",
            "RedisRateLimiter",
            "RequestEvent",
            "RetryPolicy",
            "TagPager",
            "Transport",
            "TransportRequest",
            "TransportResponse",
            "V1ContactFields",
            "V1ContactPager",
            "V1ContactStatus",
            "V1Contacts",
            "V1Position",
            "V1Tags",
            "V2ContactPager",
            "V2Contacts",
            "V2OffsetPager",
            "V2OffsetPosition",
            "V2Position",
            "__version__",
        }
        for name in heymarket_async.__all__:
            assert hasattr(heymarket_async, name), name
            value = getattr(heymarket_async, name)
            module = getattr(value, "__module__", "heymarket_async")
            # Defined in the package (not re-exported from aiohttp, cattrs...).
            assert module.startswith("heymarket_async"), (name, module)

    def test_the_version_is_a_string(self) -> None:
        assert isinstance(heymarket_async.__version__, str)
        assert heymarket_async.__version__.count(".") >= 1


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestLazyImport:
    """``import heymarket_async`` imports its names on first use (PEP 562): the command can
    install its signal handlers before aiohttp loads, and an importer pays nothing up front."""

    def test_importing_the_package_or_the_command_loads_no_aiohttp(self) -> None:
        code = (
            "import sys, heymarket_async, heymarket_async._cli\n"
            "print(sorted(m for m in ('aiohttp', 'attrs', 'cattrs', 'yarl') if m in sys.modules))"
        )
        assert _python(code).strip() == "[]"

    def test_every_name_of_all_resolves_and_is_kept(self) -> None:
        code = (
            "import heymarket_async as h\n"
            "for n in h.__all__:\n"
            "    v = getattr(h, n)\n"
            "    assert vars(h)[n] is v, n\n"
            "print(len(h.__all__))"
        )
        assert int(_python(code)) == len(heymarket_async.__all__)

    def test_a_star_import_gives_every_name_of_all(self) -> None:
        code = (
            "from heymarket_async import *\n"
            "import heymarket_async as h\n"
            "print(sorted(set(h.__all__) - set(globals())))"
        )
        assert _python(code).strip() == "[]"

    def test_the_public_submodules_are_attributes(self) -> None:
        code = (
            "import heymarket_async as h\n"
            "print(h.errors.__name__, h.models.__name__, h.pagination.__name__,"
            " h.resources.__name__)"
        )
        out = _python(code).split()
        assert out == [
            "heymarket_async.errors",
            "heymarket_async.models",
            "heymarket_async.pagination",
            "heymarket_async.resources",  # an attribute before the names were lazy
        ]

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
            heymarket_async.Nope  # noqa: B018
        with pytest.raises(ImportError):
            from heymarket_async import Nope  # type: ignore[attr-defined]  # noqa: F401

    def test_dir_lists_every_public_name(self) -> None:
        assert set(heymarket_async.__all__) <= set(dir(heymarket_async))


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


FIELDS = (
    "first",
    "last",
    "display_name",
    "email",
    "custom",
    "avatar",
    "assignee_id",
    "tags",
    "is_opted_out",
)
V1_SIGNATURES = {
    "create_contact": (["phone"], [*FIELDS, "local_id"]),
    "get_contact": (["contact_id"], []),
    "get_contact_by_phone": (["phone"], []),
    "update_contact": (["contact_id", "phone"], [*FIELDS, "overwrite"]),
    "delete_contact": (["contact_id"], []),
    "list_contacts": ([], ["date"]),
    "count_contacts": ([], ["since"]),
    "list_contact_fields": ([], []),
    "get_contact_status": (["contact_id"], ["phone"]),
    "set_contact_status": (["contact_id"], ["phone", "status"]),
    "create_contact_fields": (["titles"], []),
    "batch_create_contacts": (["contacts"], ["overwrite", "batch_size"]),
    "create_tag": (["name"], ["color"]),
    "get_tag": (["tag_id"], []),
    "delete_tag": (["tag_id"], []),
    "list_tags": ([], ["date"]),
    "patch_contact": (["contact_id"], []),
}
V2_SIGNATURES = {
    "get_contact": (["contact_uuid"], []),
    "create_contact": (["channels"], [*FIELDS, "contact_channels", "local_id"]),
    "list_contacts": ([], ["limit", "page", "since", "ascending"]),
    "add_channel": (["contact_uuid", "channel_type", "channel_id"], []),
    "update_contact": (["contact_uuid"], [*FIELDS]),
    "delete_contact": (["contact_uuid"], []),
    "update_channel": (["contact_uuid", "channel_type", "channel_id"], []),
    "upsert_contacts": (["contacts"], ["batch_size"]),
    "delete_contacts": (["contact_uuids"], ["batch_size"]),
}


def _split(fn: object) -> tuple[list[str], list[str]]:
    params = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    keyword = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    return positional, keyword


class TestSpecSignatures:
    """The names of SPEC §2: identifiers positional, options keyword-only."""

    @pytest.mark.parametrize(("name", "expected"), V1_SIGNATURES.items())
    def test_v1_methods(self, name: str, expected: tuple[list[str], list[str]]) -> None:
        method = getattr(heymarket_async.HeymarketClient, name)
        assert inspect.iscoroutinefunction(method)
        assert _split(method) == expected

    @pytest.mark.parametrize(("name", "expected"), V2_SIGNATURES.items())
    def test_v2_methods(self, name: str, expected: tuple[list[str], list[str]]) -> None:
        method = getattr(type(heymarket_async.HeymarketClient("k-123456").v2), name)
        assert inspect.iscoroutinefunction(method)
        assert _split(method) == expected

    def test_v2_search_takes_values_and_a_keyword_channel_type(self) -> None:
        v2 = type(heymarket_async.HeymarketClient("k-123456").v2)
        params = inspect.signature(v2.search_contacts).parameters
        assert params["values"].kind is inspect.Parameter.VAR_POSITIONAL
        assert params["channel_type"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["channel_type"].default is None

    def test_patch_contact_takes_the_changes_as_keywords(self) -> None:
        params = inspect.signature(heymarket_async.HeymarketClient.patch_contact).parameters
        assert [p.kind for p in params.values()][-1] is inspect.Parameter.VAR_KEYWORD

    def test_iter_tags_is_a_plain_method_returning_a_pager(self) -> None:
        method = heymarket_async.HeymarketClient.iter_tags
        assert not inspect.iscoroutinefunction(method)
        assert _split(method) == ([], ["raw"])
        assert inspect.signature(method).return_annotation == "TagPager[Any]"

    def test_defaults(self) -> None:
        client = heymarket_async.HeymarketClient
        v2 = type(client("k-123456").v2)
        assert inspect.signature(client.update_contact).parameters["overwrite"].default is False
        assert {
            n: p.default for n, p in inspect.signature(v2.list_contacts).parameters.items()
        } == {
            "self": inspect.Parameter.empty,
            "limit": 30,
            "page": 0,
            "since": None,
            "ascending": False,
        }

    def test_client_constructor(self) -> None:
        params = inspect.signature(heymarket_async.HeymarketClient).parameters
        assert params["api_key"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        expected = {
            "secret_id": None,
            "secret_key": None,
            "session": None,
            "timeout": 30.0,
            "max_retries": 3,
            "max_concurrency": 16,
        }
        for name, default in expected.items():
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert params[name].default == default, name
        assert params["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
