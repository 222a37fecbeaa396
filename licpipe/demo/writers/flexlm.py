"""AcmeCAD FlexLM exports: the lmgrd/acmed debug log and lmstat snapshots.

Engineers share a small pool of CAD_PRO seats. Requests are replayed in time order against the
pool, so checkouts, denials and check-ins are consistent with each other and with lmstat.
"""

import heapq
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np

from licpipe.demo.organisation import Person
from licpipe.demo.writers.common import DemoData
from licpipe.demo.writers.directory import device_name

SERVER = "licsrv01"
DAEMON = "acmed"
FEATURE = "CAD_PRO"
VERSION = "2026.1"
FLEX_VERSION = "v11.19.1.0 build 301288 x64_lsb"
DENIED_REASON = "(Licensed number of users already reached. (-4,342))"
BANNER_SECONDS = 4 * 3600 + 23 * 60 + 10
# The one lmgrd restart happens at 17:40 on the weekday nearest mid-period.
RESTART_SECONDS = 17 * 3600 + 40 * 60
RESTART_DOWNTIME = 260
SNAPSHOT_SECONDS = 14 * 3600
DAY = 86400


@dataclass
class Session:
    """One CAD_PRO checkout; `end` is None when it is still open at the end of the log."""

    person: Person
    host: str
    start: int
    end: int | None
    handle: int
    inactive: bool = False
    shutdown: bool = False


def _clock(seconds: int) -> str:
    """Return the space-padded `H:MM:SS` clock that FlexLM writes at the start of a line."""
    seconds %= DAY
    return f"{seconds // 3600:2d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _mdy(moment: datetime) -> str:
    return f"{moment.month}/{moment.day}/{moment.year}"


def _requests(data: DemoData, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Draw (time, engineer, duration, attempt) checkout requests, busiest on weekdays."""
    org = data.org
    engineers = org.engineers()
    propensity = rng.uniform(0.35, 0.75, size=len(engineers))
    requests = []
    for day in range(org.days):
        weekday = org.day_date(day).weekday() < 5
        for number, person in enumerate(engineers):
            if day < person.hire_day:
                continue
            if person.termination_day is not None and day > person.termination_day:
                continue
            base = day * DAY
            if rng.random() < (propensity[number] if weekday else 0.04):
                start = float(np.clip(rng.normal(9.3, 1.0), 7.0, 13.0))
                duration = rng.uniform(2.5, 7.0)
                requests.append((base + int(start * 3600), number, int(duration * 3600), 0))
            if weekday and rng.random() < 0.25:
                start = float(np.clip(rng.normal(14.5, 1.0), 12.0, 17.5))
                requests.append(
                    (base + int(start * 3600), number, int(rng.uniform(1, 3) * 3600), 0)
                )
            if rng.random() < 0.015:
                start = rng.uniform(20.0, 23.5)
                requests.append(
                    (base + int(start * 3600), number, int(rng.uniform(1.5, 4) * 3600), 0)
                )
    return requests


def simulate_pool(data: DemoData, rng: np.random.Generator):
    """Replay requests against the seat pool and return sessions, denials and the restart."""
    org = data.org
    engineers = org.engineers()
    seats = org.cad_seats
    restart_day = org.days // 2
    while org.day_date(restart_day).weekday() >= 5:
        restart_day += 1
    restart = restart_day * DAY + RESTART_SECONDS
    log_end = org.days * DAY - 1
    queue = _requests(data, rng)
    heapq.heapify(queue)

    sessions: list[Session] = []
    denials: list[tuple[int, Person, str]] = []
    open_sessions: list[tuple[int, int]] = []  # heap of (end, session position)
    handle = 1000
    restarted = False
    while queue:
        moment, number, duration, attempt = heapq.heappop(queue)
        if moment > log_end:
            continue
        if not restarted and moment >= restart:
            while open_sessions and open_sessions[0][0] <= restart:
                heapq.heappop(open_sessions)
            for _, position in open_sessions:
                sessions[position].end = restart + 2
                sessions[position].shutdown = True
            open_sessions = []
            restarted = True
        if restart <= moment < restart + RESTART_DOWNTIME:
            continue
        while open_sessions and open_sessions[0][0] <= moment:
            heapq.heappop(open_sessions)

        person = engineers[number]
        host = device_name(person.index, person.department)
        if len(open_sessions) >= seats:
            denials.append((moment, person, host))
            if attempt < 2:
                retry = moment + int(rng.integers(15 * 60, 45 * 60))
                heapq.heappush(queue, (retry, number, duration, attempt + 1))
            continue
        handle += 1
        end = moment + duration
        session = Session(person, host, moment, end if end <= log_end else None, handle)
        session.inactive = session.end is not None and rng.random() < 0.06
        sessions.append(session)
        heapq.heappush(open_sessions, (end, len(sessions) - 1))
    return sessions, denials, restart


def _banner(moment: datetime, seconds: int) -> list[tuple[int, int, str]]:
    stamp = moment.strftime("%a %b %d %Y %H:%M:%S")
    lines = [
        f"(lmgrd) Server's System Date and Time: {stamp} UTC",
        f"(lmgrd) FlexNet Licensing ({FLEX_VERSION}) started on {SERVER} (linux) ({_mdy(moment)})",
        "(lmgrd) License file(s): /opt/flexlm/licenses/acme.lic",
        "(lmgrd) lmgrd tcp-port 27000",
        "(lmgrd) Starting vendor daemons ...",
        f"(lmgrd) Started {DAEMON} (pid {2211 + seconds % 997})",
        f"({DAEMON}) FlexNet Licensing version {FLEX_VERSION}",
        f"({DAEMON}) Server started on {SERVER} for:\t{FEATURE}",
        f"(lmgrd) {DAEMON} using TCP-port 27001",
    ]
    return [(seconds + (position > 5), 0, line) for position, line in enumerate(lines)]


def _timestamps(start: int, stop: int, to_datetime) -> list[tuple[int, int, str]]:
    lines = []
    moment = start + 6 * 3600
    while moment < stop:
        date_text = _mdy(to_datetime(moment))
        lines.append((moment, 0, f"(lmgrd) TIMESTAMP {date_text}"))
        lines.append((moment + 127, 0, f"({DAEMON}) TIMESTAMP {_mdy(to_datetime(moment + 127))}"))
        moment += 6 * 3600
    return lines


def _log_lines(data: DemoData, sessions, denials, restart: int) -> list[str]:
    org = data.org
    origin = datetime.combine(org.start, time(0, 0))

    def to_datetime(seconds: int) -> datetime:
        return origin + timedelta(seconds=seconds)

    log_end = org.days * DAY - 1
    lines = _banner(to_datetime(BANNER_SECONDS), BANNER_SECONDS)
    lines += _timestamps(BANNER_SECONDS, restart, to_datetime)
    lines += [
        (restart, 0, f"(lmgrd) SHUTDOWN request from flexadmin at node {SERVER}"),
        (restart + 1, 0, f"(lmgrd) Shutting down {DAEMON} pid=2398 because of signal 15"),
        (restart + 3, 2, "(lmgrd) EXITING DUE TO SIGNAL 15"),
    ]
    back = restart + RESTART_DOWNTIME - 10
    lines += _banner(to_datetime(back), back)
    lines += _timestamps(back, log_end, to_datetime)

    for session in sessions:
        user = f"{session.person.flexlm_login}@{session.host}"
        lines.append((session.start, 1, f'({DAEMON}) OUT: "{FEATURE}" {user}  '))
        if session.end is None:
            continue
        suffix = ""
        if session.shutdown:
            suffix = "(SHUTDOWN)"
        elif session.inactive:
            suffix = "(INACTIVE)"
        lines.append((session.end, 1, f'({DAEMON}) IN: "{FEATURE}" {user}  {suffix}'))
    for moment, person, host in denials:
        user = f"{person.flexlm_login}@{host}"
        lines.append((moment, 1, f'({DAEMON}) DENIED: "{FEATURE}" {user}  {DENIED_REASON}'))

    lines.sort(key=lambda item: (item[0], item[1]))
    return [f"{_clock(seconds)} {text}" for seconds, _, text in lines]


def _lmstat_a(data: DemoData, sessions: list[Session]) -> str:
    org = data.org
    snapshot = org.days * DAY - DAY + SNAPSHOT_SECONDS
    origin = datetime.combine(org.start, time(0, 0))
    moment = origin + timedelta(seconds=snapshot)
    holding = [s for s in sessions if s.start <= snapshot and (s.end is None or s.end > snapshot)]
    header = [
        "lmutil - Copyright (c) 1989-2025 Flexera Software LLC. All Rights Reserved.",
        f"Flexible License Manager status on {moment:%a} {moment.month}/{moment.day}/"
        f"{moment.year} {moment.hour}:{moment.minute:02d}",
        "",
        "[Detecting lmgrd processes...]",
        f"License server status: 27000@{SERVER}",
        f"    License file(s) on {SERVER}: /opt/flexlm/licenses/acme.lic:",
        "",
        f"{SERVER}: license server UP (MASTER) v11.19.1",
        "",
        f"Vendor daemon status (on {SERVER}):",
        "",
        f"     {DAEMON}: UP v11.19.1",
        "",
        "Feature usage info:",
        "",
        f"Users of {FEATURE}:  (Total of {org.cad_seats} licenses issued;  "
        f"Total of {len(holding)} licenses in use)",
        "",
        f'  "{FEATURE}" v{VERSION}, vendor: {DAEMON}, expiry: 31-may-{org.as_of.year + 1}',
        "  floating license",
        "",
    ]
    for session in holding:
        start = origin + timedelta(seconds=session.start)
        header.append(
            f"    {session.person.flexlm_login} {session.host} {session.host} (v{VERSION}) "
            f"({SERVER}/27001 {session.handle}), start {start:%a} {start.month}/{start.day} "
            f"{start.hour}:{start.minute:02d}"
        )
    header.append("")
    return "\n".join(header)


def _lmstat_i(data: DemoData) -> str:
    org = data.org
    lines = [
        "lmutil - Copyright (c) 1989-2025 Flexera Software LLC. All Rights Reserved.",
        f"Flexible License Manager status on {org.as_of:%a} {org.as_of.month}/{org.as_of.day}/"
        f"{org.as_of.year} 14:00",
        "",
        "NOTE: lmstat -i does not give information from the server,",
        "      but only reads the license file.  For this reason,",
        "      lmstat -a is recommended instead.",
        "",
        "Feature                         Version     #licenses    Expires      Vendor",
        "_______                         _________   _________    __________   ______",
        f"{FEATURE:<32}{VERSION:<12}{org.cad_seats:<13}{'31-may-' + str(org.as_of.year + 1):<13}"
        f"{DAEMON}",
        "",
    ]
    return "\n".join(lines)


def write_flexlm(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    """Write the debug log (CRLF line ends) and the lmstat snapshots for the as-of day."""
    sessions, denials, restart = simulate_pool(data, rng)
    folder = landing / "flexlm"
    folder.mkdir(parents=True, exist_ok=True)
    lines = _log_lines(data, sessions, denials, restart)
    (folder / f"{DAEMON}_debug.log").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    stamp = data.org.as_of.strftime("%Y%m%d")
    (folder / f"lmstat_a_{stamp}.txt").write_text(_lmstat_a(data, sessions), encoding="utf-8")
    (folder / "lmstat_i.txt").write_text(_lmstat_i(data), encoding="utf-8")
    crossing = sum(1 for s in sessions if s.end is not None and s.end // DAY != s.start // DAY)
    return {
        "sessions": len(sessions),
        "denials": len(denials),
        "inactive_checkins": sum(s.inactive for s in sessions),
        "sessions_crossing_midnight": crossing,
    }
