"""The progress bar: what one line says, and how often it is redrawn (on a fake clock)."""

from __future__ import annotations

import io

import pytest

from heymarket_async._cli._progress import (
    BarProgress,
    NullProgress,
    format_duration,
    render_bar,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestRender:
    def test_with_a_total_shows_percent_bar_rate_and_eta(self) -> None:
        line = render_bar(2500, 10000, 2500, 5.0)
        assert line.startswith(" 25% [######..................]")
        assert "2,500/10,000" in line
        assert "500/s" in line
        assert line.endswith("ETA 0:15")

    def test_without_a_total_shows_count_and_rate(self) -> None:
        assert render_bar(1200, None, 1200, 2.0) == "1,200  600/s"

    def test_rate_counts_only_this_runs_contacts(self) -> None:
        # Resumed at 9,000: 1,000 new in 10 s is 100/s, so 0 left means no ETA.
        assert "100/s" in render_bar(10000, 10000, 1000, 10.0)
        assert "ETA" not in render_bar(10000, 10000, 1000, 10.0)

    def test_more_done_than_counted_caps_at_full(self) -> None:
        assert render_bar(120, 100, 120, 1.0).startswith("100% [" + "#" * 24 + "]")

    def test_no_time_yet_is_no_rate(self) -> None:
        assert render_bar(0, 50, 0, 0.0) == "  0% [........................]  0/50  0/s"

    @pytest.mark.parametrize(
        ("seconds", "text"), [(7, "0:07"), (754, "12:34"), (3723, "1:02:03"), (-3, "0:00")]
    )
    def test_durations(self, seconds: float, text: str) -> None:
        assert format_duration(seconds) == text


class TestBar:
    def test_redraws_at_most_ten_times_a_second(self) -> None:
        out, clock = io.StringIO(), Clock()
        bar = BarProgress(out, clock)
        bar.start(0)
        for _ in range(50):
            clock.now += 0.01
            bar.advance(10)
        # start, then one redraw per 0.1 s over 0.5 s.
        assert out.getvalue().count("\r") == 6
        bar.close()
        assert out.getvalue().endswith("500  1,000/s\n")

    def test_total_arrives_later(self) -> None:
        out, clock = io.StringIO(), Clock()
        bar = BarProgress(out, clock)
        bar.start(0)
        bar.set_total(40)
        clock.now += 1
        bar.advance(10)
        assert out.getvalue().split("\r")[-1].startswith(" 25% [")

    def test_close_without_start_prints_nothing(self) -> None:
        out = io.StringIO()
        BarProgress(out, Clock()).close()
        assert out.getvalue() == ""


def test_null_progress_accepts_everything() -> None:
    p = NullProgress()
    p.start(3)
    p.set_total(5)
    p.advance(2)
    p.close()
