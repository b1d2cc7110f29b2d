from datetime import datetime, timedelta, timezone

import pytest

from pullcheck import backoff

T0 = datetime(2026, 11, 22, 2, 21, 19, tzinfo=timezone.utc)


@pytest.mark.parametrize("failures, delay", [(0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300),
                                             (7, 300), (50, 300)])
def test_delay_doubles_from_10s_to_the_300s_cap(failures, delay):
    assert backoff.delay_after(failures) == delay


def test_state_places_the_next_retry_after_the_last_failure():
    state = backoff.state(3, T0, T0 + timedelta(seconds=5))
    assert state.delay_seconds == 40
    assert state.next_retry == T0 + timedelta(seconds=40)
    assert not state.at_cap and not state.reset


def test_state_at_cap_and_reset_after_idle_twice_the_cap():
    assert backoff.state(9, T0, T0).at_cap
    assert backoff.state(2, T0, T0 + timedelta(seconds=601)).reset
    assert not backoff.state(2, T0, T0 + timedelta(seconds=600)).reset


def test_no_state_without_failures():
    assert backoff.state(0, T0, T0) is None
