"""Microsoft Graph usage reports: their parameters, CSV headers and JSON-to-CSV conversion.

The CSV headers are the ones Graph's v1.0 reference gives for each report, in that order. The
JSON form (`$format=application/json`) uses camelCase property names and nests per-period or
per-product values in an array. A JSON pull is therefore flattened to one CSV row per nested
item and written with the CSV headers, because the m365 connector reads those.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PERIODS = ("D7", "D30", "D90", "D180")

# Graph keeps `date=` reports for about the last 28 days.
DATE_WINDOW_DAYS = 28

_ACTIVE_USER_DETAIL = (
    "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,"
    "Has Exchange License,Has OneDrive License,Has SharePoint License,"
    "Has Skype For Business License,Has Yammer License,Has Teams License,"
    "Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,"
    "Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,"
    "Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,"
    "Skype For Business License Assign Date,Yammer License Assign Date,"
    "Teams License Assign Date,Assigned Products"
)
_ACTIVE_USER_COUNTS = (
    "Report Refresh Date,Office 365,Exchange,OneDrive,SharePoint,Skype For Business,Yammer,"
    "Teams,Report Date,Report Period"
)
_APP_FLAGS = (
    "Windows,Mac,Mobile,Web,Outlook,Word,Excel,PowerPoint,OneNote,Teams,"
    "Outlook (Windows),Word (Windows),Excel (Windows),PowerPoint (Windows),OneNote (Windows),"
    "Teams (Windows),Outlook (Mac),Word (Mac),Excel (Mac),PowerPoint (Mac),OneNote (Mac),"
    "Teams (Mac),Outlook (Mobile),Word (Mobile),Excel (Mobile),PowerPoint (Mobile),"
    "OneNote (Mobile),Teams (Mobile),Outlook (Web),Word (Web),Excel (Web),PowerPoint (Web),"
    "OneNote (Web),Teams (Web)"
)
_APP_USER_DETAIL = (
    "Report Refresh Date,User Principal Name,Last Activation Date,Last Activity Date,"
    "Report Period," + _APP_FLAGS
)
_TEAMS_USER_DETAIL = (
    "Report Refresh Date,Tenant Display Name,Shared Channel Tenant Display Names,User Id,"
    "User Principal Name,Last Activity Date,Is Deleted,Deleted Date,Assigned Products,"
    "Team Chat Message Count,Private Chat Message Count,Call Count,Meeting Count,"
    "Post Messages,Reply Messages,Urgent Messages,Meetings Organized Count,"
    "Meetings Attended Count,Ad Hoc Meetings Organized Count,Ad Hoc Meetings Attended Count,"
    "Scheduled One-time Meetings Organized Count,Scheduled One-time Meetings Attended Count,"
    "Scheduled Recurring Meetings Organized Count,Scheduled Recurring Meetings Attended Count,"
    "Audio Duration,Video Duration,Screen Share Duration,Audio Duration In Seconds,"
    "Video Duration In Seconds,Screen Share Duration In Seconds,Has Other Action,Is Licensed,"
    "Report Period"
)
_ACTIVATIONS_USER_DETAIL = (
    "Report Refresh Date,User Principal Name,Display Name,Product Type,Last Activated Date,"
    "Windows,Mac,Windows 10 Mobile,iOS,Android,Activated On Shared Computer"
)


@dataclass(frozen=True)
class ReportSpec:
    """One Graph report function: which parameters it takes and the CSV it produces."""

    function: str
    headers: tuple[str, ...]
    takes_period: bool = True
    takes_date: bool = True
    yes_no_columns: frozenset[str] = frozenset()

    @property
    def file_stem(self) -> str:
        """The report name used in landing file names (`Office365ActiveUserDetail`)."""
        return self.function.removeprefix("get")


def _spec(function: str, headers: str, **options: Any) -> ReportSpec:
    return ReportSpec(function=function, headers=tuple(headers.split(",")), **options)


REPORTS: dict[str, ReportSpec] = {
    spec.function: spec
    for spec in (
        _spec("getOffice365ActiveUserDetail", _ACTIVE_USER_DETAIL),
        _spec("getOffice365ActiveUserCounts", _ACTIVE_USER_COUNTS, takes_date=False),
        # NOTE: the CSV spelling of the app flags (Yes/No) is assumed from the Teams report's
        # Yes/No columns, because no captured getM365AppUserDetail CSV row was available.
        _spec(
            "getM365AppUserDetail",
            _APP_USER_DETAIL,
            yes_no_columns=frozenset(_APP_FLAGS.split(",")),
        ),
        _spec(
            "getTeamsUserActivityUserDetail",
            _TEAMS_USER_DETAIL,
            yes_no_columns=frozenset({"Has Other Action", "Is Licensed"}),
        ),
        _spec(
            "getOffice365ActivationsUserDetail",
            _ACTIVATIONS_USER_DETAIL,
            takes_period=False,
            takes_date=False,
        ),
    )
}


def normalise_key(name: str) -> str:
    """Reduce a CSV header or JSON property to lower-case letters and digits for matching.

    `Outlook (Windows)` and `outlookWindows` both become `outlookwindows`.
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


def flatten_records(records: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """Yield one flat mapping per CSV row, keyed by normalised property name.

    A record with a nested array of objects (`details`, `userActivationCounts`) yields one row
    per array item, each carrying the record's own scalar properties as well.
    """
    for record in records:
        scalars = {}
        nested: list[Mapping[str, Any]] = []
        for key, value in record.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                nested.extend(value)
            else:
                scalars[normalise_key(key)] = value

        if not nested:
            yield scalars
            continue
        for item in nested:
            row = dict(scalars)
            row.update({normalise_key(key): value for key, value in item.items()})
            yield row


def format_value(value: Any, *, yes_no: bool) -> str:
    """Write one JSON value the way the CSV export writes it.

    Booleans become True/False (or Yes/No in the columns that use those words), lists are
    joined with `+` as in `Assigned Products`, and null becomes an empty field.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        if yes_no:
            return "Yes" if value else "No"
        return "True" if value else "False"
    if isinstance(value, list):
        return "+".join(format_value(item, yes_no=yes_no) for item in value)
    return str(value)


class ReportCsvWriter:
    """Accumulates JSON report pages as CSV text with the report's real headers."""

    def __init__(self, spec: ReportSpec) -> None:
        self.spec = spec
        self.keys = [normalise_key(header) for header in spec.headers]
        self.rows = 0
        self.seen_keys: set[str] = set()
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._writer.writerow(spec.headers)

    def add_page(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append one page's records as CSV rows."""
        for row in flatten_records(records):
            self.seen_keys.update(row)
            values = [
                format_value(row.get(key), yes_no=header in self.spec.yes_no_columns)
                for key, header in zip(self.keys, self.spec.headers, strict=True)
            ]
            self._writer.writerow(values)
            self.rows += 1

    def missing_headers(self) -> list[str]:
        """Headers that no JSON record carried, which a changed API would produce."""
        if not self.rows:
            return []
        return [
            h for h, k in zip(self.spec.headers, self.keys, strict=True) if k not in self.seen_keys
        ]

    def to_bytes(self) -> bytes:
        """Encode the CSV as UTF-8 with a byte-order mark, as Graph's own CSV download is."""
        return self._buffer.getvalue().encode("utf-8-sig")
