"""Daily planted activity per licence: which days a person used an application, and how much."""

from dataclasses import dataclass
from datetime import date

import numpy as np

from licpipe.demo.catalog import NEXT_TIER, TIER_EVENTS, TIER_PROBABILITY, WEEKEND_FACTOR
from licpipe.demo.organisation import Licence, Organisation

SEASONAL_BOOST = 1.8
# Growers reach the next tier's behaviour this many days after the as-of date.
GROWTH_HORIZON_DAYS = 60


@dataclass
class Activity:
    """Per-day activity of one licence: `active` flags and `events` counts, one entry a day."""

    active: np.ndarray
    events: np.ndarray


@dataclass
class Anomaly:
    """A planted day on which a whole application's daily active count jumps or falls."""

    application_id: str
    day: int
    kind: str


def is_quarter_end_window(day: date) -> bool:
    """Return whether a day is in the last ten days of a quarter or the first two of the next."""
    if day.month in (3, 6, 9, 12):
        next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return (next_month - day).days <= 10
    return day.month in (1, 4, 7, 10) and day.day <= 2


def _calendar(org: Organisation) -> tuple[np.ndarray, np.ndarray]:
    dates = [org.day_date(day) for day in range(org.days)]
    weekday = np.array([d.weekday() < 5 for d in dates])
    quarter_end = np.array([is_quarter_end_window(d) for d in dates])
    return weekday, quarter_end


def _planted_rates(
    licence: Licence, org: Organisation, weekday: np.ndarray, quarter_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the activity probability and mean events for each day of one licence."""
    days = org.days
    person = org.people[licence.person]
    day_factor = np.where(weekday, 1.0, WEEKEND_FACTOR)
    probability = np.full(days, TIER_PROBABILITY[licence.tier]) * day_factor
    events = np.full(days, TIER_EVENTS[licence.tier])

    if person.is_service_account:
        if licence.tier == "power":
            probability = np.ones(days)
        else:
            probability = np.where(weekday, TIER_PROBABILITY["regular"], 0.0)
    elif licence.is_intermittent:
        probability = np.where(quarter_end & weekday, 0.8, 0.0)
        events = np.full(days, TIER_EVENTS["regular"])
    elif licence.will_upgrade:
        # A steady linear rise centred on the trailing 90-day window, so the trailing-window
        # mean matches the current tier and the rate reaches the next tier within a quarter.
        current, target = licence.tier, NEXT_TIER[licence.tier]
        centre = days - 45
        span = days - 1 + GROWTH_HORIZON_DAYS - centre
        position = (np.arange(days) - centre) / span
        rate = TIER_PROBABILITY[current] + position * (
            TIER_PROBABILITY[target] - TIER_PROBABILITY[current]
        )
        probability = np.clip(rate, 0.03, 0.97) * day_factor
        volume = TIER_EVENTS[current] + position * (TIER_EVENTS[target] - TIER_EVENTS[current])
        events = np.clip(volume, 1.0, None)

    if licence.is_seasonal:
        probability = np.where(
            quarter_end, np.minimum(probability * SEASONAL_BOOST, 0.97), probability
        )
        events = np.where(quarter_end, events * SEASONAL_BOOST, events)
    return probability, events


def simulate_licence(
    licence: Licence,
    org: Organisation,
    weekday: np.ndarray,
    quarter_end: np.ndarray,
    rng: np.random.Generator,
) -> Activity:
    """Draw one licence's daily activity from its planted rates and holding window."""
    days = org.days
    probability, mean_events = _planted_rates(licence, org, weekday, quarter_end)
    draws = rng.random(days)
    counts = rng.poisson(mean_events) + 1

    active = draws < probability
    window = np.zeros(days, dtype=bool)
    window[max(licence.start_day, 0) : max(licence.end_day, 0)] = True
    active &= window
    if licence.never_used:
        active[:] = False
    elif 0 <= licence.start_day < days and not licence.is_intermittent and not active.any():
        # A licence assigned inside the period is in use from its first day, so a short
        # holding never looks like an idle seat.
        active[licence.start_day] = True
    if licence.last_use_day is not None:
        active[licence.last_use_day + 1 :] = False
        active[licence.last_use_day] = True
    return Activity(active=active, events=np.where(active, counts, 0).astype(np.int64))


def _anomaly_day(target: int, weekday: np.ndarray, quarter_end: np.ndarray) -> int:
    day = target
    while day > 0 and (not weekday[day] or quarter_end[day]):
        day -= 1
    return day


def plant_anomalies(
    org: Organisation,
    activity: dict[int, Activity],
    weekday: np.ndarray,
    quarter_end: np.ndarray,
    rng: np.random.Generator,
) -> list[Anomaly]:
    """Plant a company-wide Slack spike day and an outage (drop) day.

    Only licences in use on that date change, so inactive and terminated people stay idle.
    """
    days = org.days
    spike = _anomaly_day(days - 1 - max(10, days // 4), weekday, quarter_end)
    drop = _anomaly_day(days - 1 - max(25, days * 5 // 12), weekday, quarter_end)
    for position, licence in enumerate(org.licences):
        if licence.application_id != "slack":
            continue
        record = activity[position]
        in_use = licence.start_day <= drop and not licence.never_used
        if licence.last_use_day is not None or not in_use:
            continue
        for day, rate in ((spike, 0.97), (drop, 0.06)):
            if day >= licence.end_day or day < licence.start_day:
                continue
            record.active[day] = rng.random() < rate
            record.events[day] = int(rng.poisson(12) + 1) if record.active[day] else 0
    return [Anomaly("slack", spike, "spike"), Anomaly("slack", drop, "drop")]


def simulate(
    org: Organisation, rng: np.random.Generator
) -> tuple[dict[int, Activity], list[Anomaly]]:
    """Return each licence's activity (keyed by its position in `org.licences`) and anomalies."""
    weekday, quarter_end = _calendar(org)
    activity = {
        position: simulate_licence(licence, org, weekday, quarter_end, rng)
        for position, licence in enumerate(org.licences)
    }
    anomalies = plant_anomalies(org, activity, weekday, quarter_end, rng)
    return activity, anomalies
