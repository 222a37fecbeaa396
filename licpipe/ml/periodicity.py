"""Detection of periodic licence use, such as quarter-end or month-end tools."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

logger = logging.getLogger(__name__)

QUARTER_PERIOD_DAYS = 91

# A quarter-end window is the last 10 days of a quarter plus the first 3 days of the next.
QUARTER_WINDOW_BEFORE_DAYS = 10
QUARTER_WINDOW_AFTER_DAYS = 3

# Share of active days that must fall inside the windows, so occasional extra days are allowed.
MIN_IN_WINDOW_SHARE = 0.8

# Bursts are runs of active days separated by gaps of at most this many days.
BURST_GAP_DAYS = 4


@dataclass(frozen=True)
class PeriodicPattern:
    """Result of periodicity detection for one user and application.

    Attributes:
        is_periodic: True when the history shows a repeating pattern that is still current.
        period_days: Pattern period in days (about 91 for quarter-end, about 30 monthly).
        next_expected_on: First day of the next expected burst, on or after the as-of date.
        evidence: Plain sentence with the figures behind the verdict.
    """

    is_periodic: bool
    period_days: int | None
    next_expected_on: date | None
    evidence: str


def _quarter_end(day: date) -> date:
    """Return the last day of the quarter that contains day."""
    end_month = ((day.month - 1) // 3 + 1) * 3
    if end_month == 12:
        return date(day.year, 12, 31)
    return date(day.year, end_month + 1, 1) - timedelta(days=1)


def _quarter_window(quarter_end: date) -> tuple[date, date]:
    start = quarter_end - timedelta(days=QUARTER_WINDOW_BEFORE_DAYS - 1)
    end = quarter_end + timedelta(days=QUARTER_WINDOW_AFTER_DAYS)
    return start, end


def _window_for(day: date) -> date | None:
    """Return the quarter end whose window contains day, or None."""
    this_end = _quarter_end(day)
    start, end = _quarter_window(this_end)
    if start <= day <= end:
        return this_end
    previous_end = _quarter_end(date(day.year, day.month, 1) - timedelta(days=80))
    start, end = _quarter_window(previous_end)
    if start <= day <= end:
        return previous_end
    return None


def _next_quarter_window_start(as_of: date) -> date:
    """Return the start of the quarter-end window in progress at as_of, or of the next one."""
    quarter_end = _quarter_end(as_of)
    for _ in range(3):
        start, end = _quarter_window(quarter_end)
        if end >= as_of:
            return max(start, as_of)
        quarter_end = _quarter_end(quarter_end + timedelta(days=1))
    raise AssertionError(f"no quarter window found after {as_of}")


def _detect_quarter_end(days: list[date], as_of: date) -> PeriodicPattern | None:
    windows = [_window_for(day) for day in days]
    in_window = [w for w in windows if w is not None]
    share = len(in_window) / len(days)
    distinct_quarters = sorted(set(in_window))
    # One window is enough when every active day sits inside it: a user first seen in a
    # quarter-end close has had no earlier window to repeat in, and reclaiming them a week
    # before the next close would be wrong more often than right.
    single_window = len(distinct_quarters) == 1 and share == 1.0 and len(days) >= 3
    if (len(distinct_quarters) < 2 and not single_window) or share < MIN_IN_WINDOW_SHARE:
        return None

    # A pattern that missed the latest complete window has lapsed and is not periodic any more.
    last_window_end = _quarter_window(distinct_quarters[-1])[1]
    if (as_of - last_window_end).days > QUARTER_PERIOD_DAYS:
        return PeriodicPattern(
            False,
            QUARTER_PERIOD_DAYS,
            None,
            f"quarter-end pattern in {len(distinct_quarters)} quarters lapsed: last "
            f"quarter-end window ended on {last_window_end.isoformat()}",
        )

    next_on = _next_quarter_window_start(as_of)
    quarters = ", ".join(q.isoformat() for q in distinct_quarters)
    evidence = (
        f"{len(in_window)} of {len(days)} active days fall in quarter-end windows of "
        f"{len(distinct_quarters)} quarters ({quarters}); next window starts {next_on.isoformat()}"
    )
    return PeriodicPattern(True, QUARTER_PERIOD_DAYS, next_on, evidence)


def _bursts(days: list[date]) -> list[list[date]]:
    bursts = [[days[0]]]
    for day in days[1:]:
        if (day - bursts[-1][-1]).days <= BURST_GAP_DAYS:
            bursts[-1].append(day)
        else:
            bursts.append([day])
    return bursts


def _detect_regular_bursts(days: list[date], as_of: date) -> PeriodicPattern | None:
    """Detect bursts of use that repeat about monthly with little use in between."""
    bursts = _bursts(days)
    if len(bursts) < 3:
        return None

    starts = [b[0] for b in bursts]
    gaps = np.diff([d.toordinal() for d in starts])
    median_gap = float(np.median(gaps))
    spread = float(np.max(np.abs(gaps - median_gap)))
    longest_burst = max(len(b) for b in bursts)
    if not (20 <= median_gap <= 40) or spread > 7 or longest_burst > median_gap / 3:
        return None

    period = int(round(median_gap))
    next_on = starts[-1] + timedelta(days=period)
    if (as_of - next_on).days > period:
        return PeriodicPattern(
            False,
            period,
            None,
            f"monthly pattern of {len(bursts)} bursts lapsed: last burst started "
            f"{starts[-1].isoformat()}",
        )
    next_on = max(next_on, as_of)
    evidence = (
        f"{len(bursts)} bursts of use about every {period} days (max deviation "
        f"{int(spread)} days); next due {next_on.isoformat()}"
    )
    return PeriodicPattern(True, period, next_on, evidence)


def detect_periodic_use(active_dates: Sequence[date], as_of: date) -> PeriodicPattern:
    """Detect quarter-end or monthly use in a user's active dates up to as_of.

    Quarter-end use means at least 80% of active days fall in the last 10 days of a quarter or
    the first 3 days of the next, in at least 2 distinct quarters, or that all of at least 3
    active days fall in one such window. Monthly use means at least 3
    short bursts whose starts are 20 to 40 days apart. Dates after as_of are ignored.
    """
    days = sorted({d for d in active_dates if d is not None and d <= as_of})
    if len(days) < 2:
        return PeriodicPattern(False, None, None, f"{len(days)} active days: too few for a pattern")

    quarter = _detect_quarter_end(days, as_of)
    if quarter is not None:
        return quarter
    monthly = _detect_regular_bursts(days, as_of)
    if monthly is not None:
        return monthly
    return PeriodicPattern(False, None, None, f"{len(days)} active days show no periodic pattern")
