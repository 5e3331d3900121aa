from __future__ import annotations

import random

import pytest

from bot.handoff.backoff import next_delay


def test_ceiling_doubles_per_attempt_until_the_cap():
    top = lambda: 1.0  # noqa: E731 - rng at its upper bound shows the ceiling
    assert [next_delay(n, base=1.0, cap=10.0, rng=top) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_full_jitter_scales_the_ceiling_by_the_random_draw():
    assert next_delay(3, base=2.0, cap=300.0, rng=lambda: 0.25) == pytest.approx(2.0)
    assert next_delay(3, base=2.0, cap=300.0, rng=lambda: 0.0) == 0.0


def test_attempts_below_one_count_as_the_first():
    assert next_delay(0, rng=lambda: 1.0) == next_delay(1, rng=lambda: 1.0) == 1.0
    assert next_delay(-5, rng=lambda: 1.0) == 1.0


def test_huge_attempt_numbers_stay_at_the_cap_without_overflow():
    assert next_delay(10_000, base=1.0, cap=300.0, rng=lambda: 1.0) == 300.0


def test_default_rng_stays_within_bounds_and_varies():
    random.seed(7)
    delays = [next_delay(5, base=1.0, cap=300.0) for _ in range(200)]
    assert all(0.0 <= d < 16.0 for d in delays)
    assert len(set(delays)) > 150


def test_negative_settings_are_refused():
    with pytest.raises(ValueError):
        next_delay(1, base=-1.0)
    with pytest.raises(ValueError):
        next_delay(1, cap=-1.0)
