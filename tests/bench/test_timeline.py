"""The soak's judgement: stale grants, revocation latency and its percentiles."""

import pytest

from bench.timeline import Timeline, percentile, summary_ms

MEMBER = 7


def revoked_at(timeline: Timeline, *, started: float, answered: float) -> None:
    flip = timeline.begin(MEMBER, granted=False, now=started)
    timeline.answered(flip, now=answered)


def test_a_grant_sent_after_the_revocation_s_200_must_be_denied():
    timeline = Timeline()
    revoked_at(timeline, started=1.0, answered=1.5)
    assert timeline.must_deny(MEMBER, sent=1.6, received=1.7)
    assert not timeline.must_deny(MEMBER, sent=1.4, received=1.7)  # sent before the 200


def test_a_grant_begun_before_the_answer_came_back_explains_a_200():
    timeline = Timeline()
    revoked_at(timeline, started=1.0, answered=1.5)
    timeline.begin(MEMBER, granted=True, now=1.8)
    assert not timeline.must_deny(MEMBER, sent=1.6, received=1.9)
    assert timeline.must_deny(MEMBER, sent=1.6, received=1.7)


def test_the_first_denial_after_the_200_dates_the_revocation():
    timeline = Timeline()
    revoked_at(timeline, started=1.0, answered=1.5)
    timeline.denied(MEMBER, received=1.4)  # during the webhook: not after its 200
    timeline.denied(MEMBER, received=1.502)
    timeline.denied(MEMBER, received=1.6)
    latencies, unobserved = timeline.revocation_latencies()
    assert latencies == [pytest.approx(0.002)]
    assert unobserved == 0


def test_a_revocation_no_denial_was_seen_for_is_counted_apart():
    timeline = Timeline()
    revoked_at(timeline, started=1.0, answered=1.5)
    timeline.begin(MEMBER, granted=True, now=1.6)
    timeline.denied(MEMBER, received=1.7)  # belongs to no revocation: a grant is last
    assert timeline.revocation_latencies() == ([], 1)


def test_a_revocation_still_in_flight_is_not_counted():
    timeline = Timeline()
    timeline.begin(MEMBER, granted=False, now=1.0)
    timeline.denied(MEMBER, received=1.2)
    assert timeline.revocation_latencies() == ([], 0)


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_summary_is_in_milliseconds():
    assert summary_ms([0.001, 0.002, 0.010]) == {
        "count": 3,
        "p50_ms": 2.0,
        "p99_ms": 10.0,
        "max_ms": 10.0,
    }
    assert summary_ms([])["count"] == 0
