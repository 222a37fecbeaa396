"""Helpers shared by the export writers."""

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from licpipe.demo.activity import Activity
from licpipe.demo.organisation import Licence, Organisation


@dataclass
class DemoData:
    """The organisation, each licence's activity and an index of licences by person and app."""

    org: Organisation
    activity: dict[int, Activity]

    def __post_init__(self) -> None:
        self.by_key = {
            (lic.person, lic.application_id): position
            for position, lic in enumerate(self.org.licences)
        }

    def licences(self, application_id: str) -> list[tuple[Licence, Activity]]:
        return [
            (lic, self.activity[position])
            for position, lic in enumerate(self.org.licences)
            if lic.application_id == application_id
        ]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    bom: bool = False,
    line_end: str = "\r\n",
) -> int:
    """Write a CSV file and return its row count. `bom` adds the UTF-8 byte-order mark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator=line_end)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def stable_id(prefix: str, text: str, length: int) -> str:
    """Return a deterministic id such as a Slack `U…` or Okta `00u…` id derived from `text`."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, len(alphabet))
        chars.append(alphabet[remainder])
    return prefix + "".join(chars)


def stable_uuid(text: str) -> str:
    """Return a deterministic RFC 4122-shaped UUID string derived from `text`."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


def iso_z(moment: datetime) -> str:
    """Format a naive UTC datetime as ISO-8601 with milliseconds and a `Z` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def last_use(activity: Activity) -> int | None:
    """Return the last active day number, or None when the licence was never used."""
    days = np.flatnonzero(activity.active)
    return int(days[-1]) if days.size else None


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value else ""
