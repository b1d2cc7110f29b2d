from datetime import datetime, timezone

import pytest

from pullcheck.timeutil import event_times, format_time, human_duration, latest_timestamp, parse_time


@pytest.mark.parametrize("text, expected", [
    ("2026-11-22T02:21:19Z", datetime(2026, 11, 22, 2, 21, 19, tzinfo=timezone.utc)),
    ("2026-11-22T02:21:18.859718Z", datetime(2026, 11, 22, 2, 21, 18, 859718, tzinfo=timezone.utc)),
    ("2026-11-22T02:21:18.8Z", datetime(2026, 11, 22, 2, 21, 18, 800000, tzinfo=timezone.utc)),
    ("2026-11-22T02:21:18.123456789Z", datetime(2026, 11, 22, 2, 21, 18, 123456, tzinfo=timezone.utc)),
])
def test_parse_time_accepts_the_api_servers_forms(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("junk", [None, "", "yesterday", 12, "2026-13-40T00:00:00Z"])
def test_parse_time_rejects_junk(junk):
    assert parse_time(junk) is None


def test_format_time_round_trips_to_utc_seconds():
    assert format_time(parse_time("2026-11-22T03:21:19.5+01:00")) == "2026-11-22T02:21:19Z"
    assert format_time(None) is None


def test_event_times_prefer_first_and_last_timestamp_then_event_time():
    assert event_times({"firstTimestamp": "2026-11-22T02:21:19Z", "lastTimestamp": "2026-11-22T02:22:03Z"}) == (
        parse_time("2026-11-22T02:21:19Z"), parse_time("2026-11-22T02:22:03Z"))
    first, last = event_times({"eventTime": "2026-11-22T02:21:18.859718Z", "firstTimestamp": None})
    assert first == last == parse_time("2026-11-22T02:21:18.859718Z")
    series = {"eventTime": "2026-11-22T02:00:00.000000Z", "series": {"lastObservedTime": "2026-11-22T02:05:00.000000Z"}}
    assert event_times(series)[1] == parse_time("2026-11-22T02:05:00Z")


def test_latest_timestamp_scans_pods_and_events():
    pod = {"kind": "Pod", "metadata": {"creationTimestamp": "2026-11-22T02:00:00Z"},
           "status": {"conditions": [{"lastTransitionTime": "2026-11-22T02:01:00Z"}],
                      "containerStatuses": [{"state": {"running": {"startedAt": "2026-11-22T02:02:00Z"}}}]}}
    event = {"kind": "Event", "involvedObject": {}, "lastTimestamp": "2026-11-22T02:03:00Z"}
    assert latest_timestamp([pod]) == parse_time("2026-11-22T02:02:00Z")
    assert latest_timestamp([pod, event]) == parse_time("2026-11-22T02:03:00Z")
    assert latest_timestamp([]) is None


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59, "59s"), (161, "2m41s"), (600, "10m"), (3700, "1h01m"),
                                           (90000, "1d1h"), (-5, "0s")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text
