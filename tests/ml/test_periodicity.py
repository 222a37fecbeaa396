from datetime import date, timedelta

from licpipe.ml.periodicity import detect_periodic_use

AS_OF = date(2026, 12, 15)


def quarter_end_dates(quarter_ends: list[date]) -> list[date]:
    days = []
    for end in quarter_ends:
        days += [end - timedelta(days=offset) for offset in (8, 5, 2, 0)]
        days.append(end + timedelta(days=1))
    return days


def test_quarter_end_pattern_detected():
    days = quarter_end_dates([date(2026, 6, 30), date(2026, 9, 30)])

    pattern = detect_periodic_use(days, AS_OF)

    assert pattern.is_periodic
    assert pattern.period_days == 91
    assert pattern.next_expected_on == date(2026, 12, 22)
    assert "2 quarters" in pattern.evidence


def test_quarter_end_in_progress_is_due_now():
    days = quarter_end_dates([date(2026, 6, 30), date(2026, 9, 30)])

    pattern = detect_periodic_use(days, date(2026, 12, 25))

    assert pattern.next_expected_on == date(2026, 12, 25)


def test_single_quarter_close_is_periodic():
    days = quarter_end_dates([date(2026, 9, 30)])

    pattern = detect_periodic_use(days, AS_OF)

    assert pattern.is_periodic
    assert "1 quarters" in pattern.evidence


def test_single_quarter_with_other_use_not_periodic():
    days = quarter_end_dates([date(2026, 9, 30)]) + [date(2026, 8, 3)]

    assert not detect_periodic_use(days, AS_OF).is_periodic


def test_daily_use_not_periodic():
    days = [AS_OF - timedelta(days=i) for i in range(120)]

    assert not detect_periodic_use(days, AS_OF).is_periodic


def test_lapsed_quarter_pattern_not_periodic():
    days = quarter_end_dates([date(2025, 12, 31), date(2026, 3, 31)])

    pattern = detect_periodic_use(days, AS_OF)

    assert not pattern.is_periodic
    assert "lapsed" in pattern.evidence


def test_monthly_bursts_detected():
    starts = [date(2026, 8, 10) + timedelta(days=30 * i) for i in range(4)]
    days = [s + timedelta(days=d) for s in starts for d in (0, 1)]

    pattern = detect_periodic_use(days, AS_OF)

    assert pattern.is_periodic
    assert pattern.period_days == 30
    assert pattern.next_expected_on == date(2026, 12, 15)


def test_future_dates_ignored():
    days = [AS_OF + timedelta(days=i) for i in range(1, 40)]

    pattern = detect_periodic_use(days, AS_OF)

    assert not pattern.is_periodic
    assert pattern.evidence.startswith("0 active days")
