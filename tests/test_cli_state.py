"""The resume state file: where it lives, its round trip, and what it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heymarket_async._cli import main
from heymarket_async._cli._console import EXIT_FAILURE, EXIT_USAGE
from heymarket_async._cli._state import (
    ExportPaths,
    ExportState,
    StateError,
    load_state,
    save_state,
)
from heymarket_async.testing import Fault

from ._cli_helpers import threaded_fake

STATE = ExportState(
    format="csv",
    api="v2",
    source="http://127.0.0.1:8787",
    since="2024-05-01T00:00:00Z",
    bytes=1234,
    contacts=200,
    position={"page": 2, "page_size": 100},
    columns=("id", "Plan"),
    field_ids=("12",),
)


class TestPaths:
    def test_part_and_state_sit_beside_the_output(self, tmp_path: Path) -> None:
        paths = ExportPaths.for_output(tmp_path / "out" / "contacts.jsonl")
        assert paths.part == tmp_path / "out" / "contacts.jsonl.part"
        assert paths.state == tmp_path / "out" / "contacts.jsonl.resume.json"


class TestRoundTrip:
    def test_saved_state_loads_equal(self, tmp_path: Path) -> None:
        path = tmp_path / "s.json"
        save_state(path, STATE)
        assert load_state(path) == STATE

    def test_how_lines_are_written_round_trips(self, tmp_path: Path) -> None:
        path = tmp_path / "s.json"
        for normalized, guard in [(True, False), (False, True)]:
            state = attrs.evolve(STATE, normalized=normalized, formula_guard=guard)
            save_state(path, state)
            assert load_state(path) == state

    def test_a_state_from_before_says_what_that_version_wrote(self) -> None:
        # Normalized JSONL and CSV without the formula guard: all there was.
        data = STATE.to_json()
        del data["normalized"], data["formula_guard"]
        state = ExportState.from_json(data)
        assert (state.normalized, state.formula_guard) == (True, False)

    def test_no_file_is_no_state(self, tmp_path: Path) -> None:
        assert load_state(tmp_path / "missing.json") is None

    def test_save_replaces_and_leaves_no_temporary(self, tmp_path: Path) -> None:
        path = tmp_path / "s.json"
        save_state(path, STATE)
        save_state(path, attrs.evolve(STATE, contacts=300))
        loaded = load_state(path)
        assert loaded is not None
        assert loaded.contacts == 300
        assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


class TestRefusals:
    @pytest.mark.parametrize(
        ("content", "why"),
        [
            (b"{not json", "not valid JSON"),
            (b"[" * 100_000, "not valid JSON"),  # nested past the decoder's recursion limit
            (b"[]", "not a heymarket-async resume file"),
            (json.dumps({"kind": "heymarket-async export", "version": 99}).encode(), "version"),
        ],
    )
    def test_unreadable_files(self, tmp_path: Path, content: bytes, why: str) -> None:
        path = tmp_path / "s.json"
        path.write_bytes(content)
        with pytest.raises(StateError, match=why):
            load_state(path)

    @pytest.mark.parametrize(
        ("key", "value"),
        [("bytes", "12"), ("bytes", -1), ("contacts", True), ("format", 3), ("columns", [1])],
    )
    def test_badly_typed_fields(self, key: str, value: object) -> None:
        data = STATE.to_json()
        data[key] = value
        with pytest.raises(StateError):
            ExportState.from_json(data)

    def test_missing_field(self) -> None:
        data = STATE.to_json()
        del data["position"]
        with pytest.raises(StateError, match="position"):
            ExportState.from_json(data)


#: Any JSON value, small: what a damaged or hand-edited state may hold anywhere.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63) - 1, 10**200])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """An emulator, and a v2 export of it (with --dedupe) stopped after a few pages: the
    partial file's bytes and the state's JSON."""
    with threaded_fake(450) as fake:
        out = tmp_path_factory.mktemp("interrupted") / "c.jsonl"
        fake.faults.add("POST /v2/contacts/list", Fault.status(503), on=range(9, 40))
        code = main(["export", "-q", "-o", str(out), "--max-retries", "0", *connect(fake.url)])
        assert code == EXIT_FAILURE
        fake.faults.clear()
        paths = ExportPaths.for_output(out)
        data = json.loads(paths.state.read_bytes())
        assert data["contacts"] > 0
        yield fake.url, {"part": paths.part.read_bytes(), "state": data}


def connect(url: str) -> list[str]:
    return ["--base-url", url, "--api-key", "test"]


def resume_with(
    directory: Path, url: str, part: bytes, state: bytes, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``export --resume`` of ``directory/c.jsonl`` with this partial file and state file."""
    for leftover in directory.iterdir():
        leftover.unlink()
    out = directory / "c.jsonl"
    paths = ExportPaths.for_output(out)
    paths.part.write_bytes(part)
    paths.state.write_bytes(state)
    code = main(["export", "-q", "-o", str(out), "--resume", *connect(url)])
    captured = capsys.readouterr()
    return code, captured.err


def one_line_usage_error(code: int, err: str) -> None:
    assert code == EXIT_USAGE, err
    assert err.startswith("heymarket-async: error: ")
    assert err.count("\n") == 1, err


_DEEP = 500  # under the JSON decoder's recursion limit: the position reaches the pager
#: A value of every JSON type, and the odd ones of each, for each field in turn.
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    10**30,
    1.5,
    float("nan"),
    "",
    "soon",
    "a\nb",
    [],
    ["x"],
    {},
    {"kind": "v2"},
]


class TestCorruptStateAtTheCommand:
    """Whatever the resume file holds, ``--resume`` stops with one line and exit 2 (or, for a
    state it can use, resumes): never a traceback."""

    @pytest.mark.parametrize(
        "shape",
        [
            "not json",
            "not utf-8",
            "empty",
            "a list",
            "a number",
            "null",
            "nested too deep",
            "nested deep in the position",
            "unknown version",
            "version as text",
            "version true",
            "missing bytes",
            "missing position",
            "bytes as text",
            "bytes huge",
            "bytes past the digits int() reads",
            "contacts negative",
            "format unknown",
            "api a list",
            "since not a time",
            "source with a line break",
            "newest not a time",
            "columns an object",
            "position a list",
            "position a number",
            "position without slices",
            "finished not a file id",
        ],
    )
    def test_each_shape_is_one_line_and_exit_2(
        self,
        interrupted: tuple[str, dict[str, Any]],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        shape: str,
    ) -> None:
        url, saved = interrupted
        data = json.loads(json.dumps(saved["state"]))
        text: bytes | None = None
        if shape == "not json":
            text = b"{'kind': 'heymarket-async export'"
        elif shape == "not utf-8":
            text = b'{"kind": "\xff\xfe"}'
        elif shape == "empty":
            text = b""
        elif shape == "a list":
            data = [data]
        elif shape == "a number":
            data = 1
        elif shape == "null":
            data = None
        elif shape == "nested too deep":
            text = b"[" * 100_000 + b"]" * 100_000
        elif shape == "nested deep in the position":
            text = (
                json.dumps(data)
                .replace('"position":', '"position":' + "[" * _DEEP + "]" * _DEEP + ',"x":')
                .encode()
            )
        elif shape == "unknown version":
            data["version"] = 2
        elif shape == "version as text":
            data["version"] = "1"
        elif shape == "version true":
            data["version"] = True
        elif shape.startswith("missing "):
            del data[shape.removeprefix("missing ")]
        elif shape == "bytes as text":
            data["bytes"] = str(data["bytes"])
        elif shape == "bytes huge":
            data["bytes"] = 10**30
        elif shape == "bytes past the digits int() reads":
            text = json.dumps(data).replace('"bytes":', '"bytes":' + "9" * 5000 + ',"b":').encode()
        elif shape == "contacts negative":
            data["contacts"] = -1
        elif shape == "format unknown":
            data["format"] = "xml"
        elif shape == "api a list":
            data["api"] = ["v2"]
        elif shape == "since not a time":
            data["since"] = "yesterday"
        elif shape == "source with a line break":
            data["source"] = url + "\nTraceback (most recent call last):"
        elif shape == "newest not a time":
            data["newest"] = "soon"
        elif shape == "columns an object":
            data["columns"] = {"id": 1}
        elif shape == "position a list":
            data["position"] = [data["position"]]
        elif shape == "position a number":
            data["position"] = 7
        elif shape == "position without slices":
            del data["position"]["slices"]
        elif shape == "finished not a file id":
            data["finished"] = [1, 2]
        else:  # pragma: no cover - a shape without a case
            raise AssertionError(shape)
        if text is None:
            text = json.dumps(data).encode()
        one_line_usage_error(*resume_with(tmp_path, url, saved["part"], text, capsys))

    @pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
    def test_every_field_with_each_odd_value(
        self,
        interrupted: tuple[str, dict[str, Any]],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        value: Any,
    ) -> None:
        url, saved = interrupted
        for key in sorted(saved["state"]):
            state = json.loads(json.dumps(saved["state"]))
            state[key] = value
            code, err = resume_with(
                tmp_path, url, saved["part"], json.dumps(state).encode(), capsys
            )
            assert "Traceback" not in err
            if code != 0:
                one_line_usage_error(code, err)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test_any_value_in_any_field(
        self,
        interrupted: tuple[str, dict[str, Any]],
        tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str],
        data: st.DataObject,
    ) -> None:
        url, saved = interrupted
        state = json.loads(json.dumps(saved["state"]))
        where = data.draw(st.sampled_from(["whole", "field", "position field", "drop"]))
        content: Any
        if where == "whole":
            content = data.draw(json_values)
        elif where == "drop":
            for key in data.draw(st.sets(st.sampled_from(sorted(state)), min_size=1)):
                del state[key]
            content = state
        elif where == "field":
            state[data.draw(st.sampled_from(sorted(state)))] = data.draw(json_values)
            content = state
        else:
            position = state["position"]
            slice_ = position["slices"][0]
            target = data.draw(st.sampled_from([position, slice_]))
            target[data.draw(st.sampled_from(sorted(target)))] = data.draw(json_values)
            content = state
        directory = tmp_path_factory.mktemp("any", numbered=True)
        code, err = resume_with(directory, url, saved["part"], json.dumps(content).encode(), capsys)
        assert "Traceback" not in err
        if code != 0:
            one_line_usage_error(code, err)
