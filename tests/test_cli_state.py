"""The resume state file: where it lives, its round trip, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from heymarket_async._cli._state import (
    ExportPaths,
    ExportState,
    StateError,
    load_state,
    save_state,
)

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
