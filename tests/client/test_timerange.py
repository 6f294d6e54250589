"""TimeRange: what users type for "when", and what zoom, shift and labels show them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from logfire_notebook import TimeRange
from logfire_notebook._exceptions import LogfireError, TimeRangeError

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "start"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("1h", NOW - timedelta(hours=1)),
        ("7d", NOW - timedelta(days=7)),
        ("30s", NOW - timedelta(seconds=30)),
        ("2w", NOW - timedelta(days=14)),
        ("90 minutes", NOW - timedelta(minutes=90)),
        ("now-2h", NOW - timedelta(hours=2)),
        ("now - 1d", NOW - timedelta(days=1)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T08:30", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01T08:30:00Z", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01T10:30:00+02:00", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        (date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, 8, 30), datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        (
            datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        ),
        (timedelta(hours=3), NOW - timedelta(hours=3)),
    ],
)
def test_every_accepted_form_resolves_to_the_right_start(typed: object, start: datetime) -> None:
    resolved_start, resolved_end = TimeRange.parse(typed).resolve(NOW)  # type: ignore[arg-type]
    assert resolved_start == start
    assert resolved_start.tzinfo is not None
    assert resolved_end is None


def test_since_until_pair_resolves_both_ends() -> None:
    assert TimeRange.parse("now-2d", "now-1d").resolve(NOW) == (
        NOW - timedelta(days=2),
        NOW - timedelta(days=1),
    )
    assert TimeRange.parse("2026-03-01", "2026-03-02").resolve(NOW) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert TimeRange.parse("1h", "now").until is None


@pytest.mark.parametrize("typed", ["3x", "yesterday", "", "now+1h", "2026-13-45", "-5m", "now-", 12])
def test_unreadable_time_is_one_sentence_listing_the_forms(typed: object) -> None:
    with pytest.raises(TimeRangeError) as info:
        TimeRange.parse(typed)  # type: ignore[arg-type]
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, LogfireError)
    assert "'15m'" in message and "now-2h" in message and "ISO" in message
    assert message.count("\n") == 0


def test_start_after_end_is_rejected_with_both_ends_named() -> None:
    with pytest.raises(TimeRangeError, match=r"now-1d.*now-2d"):
        TimeRange.parse("now-1d", "now-2d")
    with pytest.raises(TimeRangeError, match="before the end"):
        TimeRange.parse("2026-03-02", "2026-03-01")


def test_a_start_in_the_future_is_refused_with_a_sentence() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    with pytest.raises(TimeRangeError) as info:
        TimeRange.parse("2030-01-01").check_started(now)
    assert str(info.value) == (
        "The range 2030-01-01 00:00 UTC → now starts in the future (it is 2026-12-01 12:00 UTC now): "
        "give a start before now, like '1h' or an earlier date."
    )
    started = TimeRange.parse("2026-12-01T11:00:00Z")
    assert started.check_started(now) is started


def test_labels_read_like_the_picker() -> None:
    assert TimeRange.parse("1h").label() == "Last 1 hour"
    assert TimeRange.parse("15m").label() == "Last 15 minutes"
    assert TimeRange.parse("7d").label() == "Last 7 days"
    assert TimeRange.parse("now-2d", "now-1d").label() == "now-2d → now-1d"
    assert TimeRange.parse("2026-03-01T08:00Z", "2026-03-01T09:30Z").label() == "2026-03-01 08:00 → 09:30 UTC"
    assert (
        TimeRange.parse("2026-03-01T08:00Z", "2026-03-02T09:30:15Z").label()
        == "2026-03-01 08:00 → 2026-03-02 09:30:15 UTC"
    )
    assert TimeRange.parse("2026-03-01").label() == "2026-03-01 00:00 UTC → now"
    assert str(TimeRange.parse("1h")) == "Last 1 hour"


def test_zoom_out_doubles_the_width_and_keeps_until_now() -> None:
    zoomed = TimeRange.parse("1h").zoom_out(NOW)
    assert zoomed == TimeRange.parse("2h")
    assert zoomed.label() == "Last 2 hours"
    # An absolute window grows around its centre.
    window = TimeRange.parse("2026-03-01T08:00Z", "2026-03-01T10:00Z").zoom_out(NOW)
    assert window.resolve(NOW) == (datetime(2026, 3, 1, 7, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC))
    # A relative window stays relative.
    assert TimeRange.parse("now-4h", "now-2h").zoom_out(NOW) == TimeRange.parse("now-5h", "now-1h")


def test_zoom_out_never_reaches_into_the_future() -> None:
    window = TimeRange.parse(NOW - timedelta(hours=2), NOW - timedelta(minutes=30)).zoom_out(NOW)
    start, end = window.resolve(NOW)
    assert end == NOW and end - start == timedelta(hours=3)


def test_shift_moves_by_half_the_width_and_stops_at_now() -> None:
    assert TimeRange.parse("1h").shift(-1, NOW) == TimeRange.parse("now-90m", "now-30m")
    assert TimeRange.parse("now-90m", "now-30m").shift(+1, NOW) == TimeRange.parse("1h")
    assert TimeRange.parse("1h").shift(+1, NOW) == TimeRange.parse("1h")
    window = TimeRange.parse("2026-03-01T08:00Z", "2026-03-01T10:00Z")
    assert window.shift(-1, NOW).resolve(NOW) == (
        datetime(2026, 3, 1, 7, tzinfo=UTC),
        datetime(2026, 3, 1, 9, tzinfo=UTC),
    )
    recent = TimeRange.parse(NOW - timedelta(hours=1), NOW - timedelta(minutes=10)).shift(+1, NOW)
    assert recent.resolve(NOW)[1] == NOW
    assert recent.width(NOW) == timedelta(minutes=50)


@pytest.mark.parametrize(
    "window",
    [
        TimeRange.parse("1h"),
        TimeRange.parse("now-2d", "now-1d"),
        TimeRange.parse("2026-03-01T08:00:00.250Z", "2026-03-01T09:00Z"),
        TimeRange.parse("2026-03-01"),
        TimeRange.parse("90m").shift(-1, NOW),
    ],
)
def test_json_round_trip_for_the_widget(window: TimeRange) -> None:
    import json

    data = json.loads(json.dumps(window.to_json()))
    assert TimeRange.from_json(data) == window


def test_json_is_in_the_words_users_type() -> None:
    assert TimeRange.parse("1h").to_json() == {"since": "now-1h", "until": None}
    assert TimeRange.parse("now-2d", "now-1d").to_json() == {"since": "now-2d", "until": "now-1d"}
    assert TimeRange.parse("2026-03-01T08:00Z").to_json() == {
        "since": "2026-03-01T08:00:00+00:00",
        "until": None,
    }


def test_from_json_rejects_garbage_in_one_sentence() -> None:
    with pytest.raises(TimeRangeError, match="time range"):
        TimeRange.from_json({"until": "now"})
    with pytest.raises(TimeRangeError, match="'15m'"):
        TimeRange.from_json({"since": "soon"})


def test_a_time_range_is_a_frozen_value() -> None:
    window = TimeRange.parse("1h")
    with pytest.raises(AttributeError):
        window.since = timedelta(hours=2)  # type: ignore[misc]
    assert {window, TimeRange.parse("60m")} == {window}
    assert TimeRange.parse(window) is window


def test_odd_widths_render_readably_and_round_trip() -> None:
    shifted = TimeRange.parse("15m").shift(-1, NOW)
    assert shifted.label() == "now-22.5m → now-7.5m"
    assert TimeRange.from_json(shifted.to_json()) == shifted
    odd = TimeRange(timedelta(seconds=1234, microseconds=567891))
    assert odd.label() == "Last 1234.567891 seconds"
    assert TimeRange.from_json(odd.to_json()) == odd
