"""Okta puller that writes the okta landing files: `users.csv` and System Log NDJSON.

Okta's default `/api/v1/users` listing leaves out DEPROVISIONED users, and a seat held by a
deactivated person would then look external. The user pull therefore requests every status with
a `search` filter, in two requests so that a token allowed to list active users but not
deactivated ones still yields a snapshot, marked partial.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from licpipe.pull.http import (
    PullError,
    RetryingClient,
    read_setting,
    redact_url,
    require_secure_url,
    same_origin,
    utc_stamp,
    write_atomically,
)

logger = logging.getLogger(__name__)

ENV_ORG_URL = "LICPIPE_OKTA_ORG_URL"
ENV_API_TOKEN = "LICPIPE_OKTA_API_TOKEN"

LIVE_STATUSES = (
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
)
DEPROVISIONED = "DEPROVISIONED"

USER_COLUMNS = (
    "id",
    "login",
    "email",
    "status",
    "created",
    "activated",
    "statusChanged",
    "lastLogin",
)
USERS_FILE = "users.csv"
PARTIAL_MARKER_FILE = "users.partial.json"

# Okta's maximum page sizes: 200 for users, 1000 for System Log events.
USERS_PAGE_SIZE = 200
LOG_PAGE_SIZE = 1000


def status_filter(statuses: tuple[str, ...]) -> str:
    """Build an Okta `search` expression matching any of `statuses`."""
    return " or ".join(f'status eq "{status}"' for status in statuses)


def parse_rate_limit_reset(response: requests.Response, now: float) -> float | None:
    """Return the wait until `X-Rate-Limit-Reset` (epoch seconds), else `Retry-After`."""
    reset = response.headers.get("X-Rate-Limit-Reset", "").strip()
    if reset.isdigit():
        # One extra second because the reset time is truncated to whole seconds.
        return max(0.0, int(reset) - now) + 1.0

    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    return None


class OktaClient:
    """Client for the Okta Users and System Log APIs with an SSWS API token."""

    def __init__(
        self,
        org_url: str,
        api_token: str,
        *,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_token:
            raise ValueError("api_token must be non-empty")
        self.org_url = require_secure_url(org_url, setting="org_url")
        self._api_token = api_token
        self.http = RetryingClient(
            max_retries=max_retries,
            backoff_seconds=backoff_seconds,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            wait_parser=parse_rate_limit_reset,
        )

    def __repr__(self) -> str:
        return f"OktaClient(org_url={self.org_url!r})"

    @classmethod
    def from_env(cls, **options: Any) -> OktaClient:
        """Build a client from LICPIPE_OKTA_ORG_URL and LICPIPE_OKTA_API_TOKEN."""
        return cls(read_setting(ENV_ORG_URL), read_setting(ENV_API_TOKEN), **options)

    def list_users(self, dest: Path) -> Path:
        """Write every user, DEPROVISIONED included, to `dest/users.csv` and return its path.

        When the DEPROVISIONED request is denied (403), the file contains the other statuses and
        `dest/users.partial.json` marks the snapshot partial. A complete pull removes a marker
        left by an earlier partial one.
        """
        dest = Path(dest)
        users: dict[str, dict[str, Any]] = {}
        try:
            for user in self._pages(
                "/api/v1/users", self._user_params(LIVE_STATUSES), "Okta users"
            ):
                users[user["id"]] = user
        except _Forbidden as exc:
            raise PullError(
                f"{exc}; the API token's admin role must allow reading users, as the Read-only "
                "Administrator role does"
            ) from None

        partial_reason = None
        try:
            deprovisioned = self._pages(
                "/api/v1/users", self._user_params((DEPROVISIONED,)), "Okta DEPROVISIONED users"
            )
            for user in deprovisioned:
                users[user["id"]] = user
        except _Forbidden as exc:
            partial_reason = str(exc)

        path = write_atomically(dest / USERS_FILE, [_users_csv(users.values())])
        marker = dest / PARTIAL_MARKER_FILE
        if partial_reason is None:
            marker.unlink(missing_ok=True)
            logger.info("wrote %s (%d users, all statuses)", path, len(users))
            return path

        logger.warning(
            "wrote %s (%d users) without DEPROVISIONED users because %s; marked partial in %s",
            path,
            len(users),
            partial_reason,
            marker,
        )
        sidecar = {
            "partial": True,
            "missing_statuses": [DEPROVISIONED],
            "reason": partial_reason,
            "pulled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_atomically(marker, [json.dumps(sidecar, indent=2).encode("utf-8") + b"\n"])
        return path

    def pull_system_log(self, dest_dir: Path, since: datetime, until: datetime) -> Path | None:
        """Write System Log events in [since, until) to an NDJSON file in `dest_dir`.

        The file is `system_log_<since>_<until>.ndjson` with compact UTC stamps, and both bounds
        must be timezone-aware. Events repeated across pages (same `uuid`) are
        written once. Returns the path, or None when the window has no events, because the okta
        connector rejects an empty file.
        """
        for name, moment in (("since", since), ("until", until)):
            if moment.tzinfo is None:
                raise ValueError(f"{name}={moment.isoformat()} has no time zone; pass a UTC time")
        if since >= until:
            raise ValueError(f"since={since.isoformat()} is not before until={until.isoformat()}")

        params = {
            "since": _okta_time(since),
            "until": _okta_time(until),
            "limit": str(LOG_PAGE_SIZE),
            "sortOrder": "ASCENDING",
        }
        description = f"Okta System Log {params['since']} to {params['until']}"
        logger.info("pulling %s", description)

        seen: set[str] = set()
        lines: list[bytes] = []
        try:
            for event in self._pages("/api/v1/logs", params, description):
                uuid = event.get("uuid")
                if uuid in seen:
                    continue
                if uuid:
                    seen.add(uuid)
                lines.append(json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n")
        except _Forbidden as exc:
            raise PullError(
                f"{exc}; the API token's admin role must allow reading the System Log, as the "
                "Read-only Administrator role does"
            ) from None

        if not lines:
            logger.info("%s has no events; no file written", description)
            return None

        name = f"system_log_{utc_stamp(since)}_{utc_stamp(until)}.ndjson"
        path = write_atomically(Path(dest_dir) / name, lines)
        logger.info("wrote %s (%d events)", path, len(lines))
        return path

    def _user_params(self, statuses: tuple[str, ...]) -> dict[str, str]:
        return {"search": status_filter(statuses), "limit": str(USERS_PAGE_SIZE)}

    def _pages(
        self, path: str, params: dict[str, str], description: str
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of every page, following `Link: <...>; rel="next"`.

        The `next` URL must stay on the org URL, because the API token goes with it. A page with
        no items ends the walk, since the System Log keeps offering `next` for future events.
        """
        url: str | None = f"{self.org_url}{path}"
        query: dict[str, str] | None = params
        visited: set[str] = set()
        while url:
            response = self._get(url, query, description)
            items = _json_list(response, description)
            yield from items

            next_url = response.links.get("next", {}).get("url")
            if not items or not next_url or next_url in visited:
                return
            if not same_origin(next_url, self.org_url):
                raise PullError(
                    f"{description}: the next-page link points to {redact_url(next_url)}, outside "
                    f"{self.org_url}; the token is not sent there, so check {ENV_ORG_URL}"
                )
            visited.add(next_url)
            url, query = next_url, None

    def _get(self, url: str, params: dict[str, str] | None, description: str) -> requests.Response:
        headers = {"Authorization": f"SSWS {self._api_token}", "Accept": "application/json"}
        response = self.http.request(
            "GET", url, description=description, headers=headers, params=params
        )
        if response.status_code == 200:
            return response

        summary = _okta_error(response)
        if response.status_code == 401:
            raise PullError(
                f"{description} was rejected with HTTP 401 ({summary}); the API token is "
                "invalid or "
                f"expired, so create a new one and set {ENV_API_TOKEN}"
            )
        if response.status_code == 403:
            raise _Forbidden(f"{description} was denied with HTTP 403 ({summary})")
        raise PullError(
            f"{description} failed with HTTP {response.status_code} ({summary}) from "
            f"{redact_url(url)}; "
            f"check {ENV_ORG_URL}"
        )


class _Forbidden(PullError):
    """HTTP 403 from Okta: the token's admin role does not cover the request."""


def _users_csv(users: Any) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(USER_COLUMNS)
    for user in sorted(users, key=lambda u: u["id"]):
        profile = user.get("profile") or {}
        writer.writerow(
            [
                user["id"],
                profile.get("login") or "",
                profile.get("email") or "",
                user.get("status") or "",
                user.get("created") or "",
                user.get("activated") or "",
                user.get("statusChanged") or "",
                user.get("lastLogin") or "",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _okta_time(moment: datetime) -> str:
    """Format as Okta's ISO 8601 UTC form with milliseconds (2024-05-01T00:00:00.000Z)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _json_list(response: requests.Response, description: str) -> list[dict[str, Any]]:
    try:
        payload = response.json()
    except ValueError:
        raise PullError(f"{description}: the response is not JSON; check {ENV_ORG_URL}") from None
    if not isinstance(payload, list):
        raise PullError(f"{description}: expected a JSON array, got {type(payload).__name__}")
    return payload


def _okta_error(response: requests.Response) -> str:
    """Return Okta's `errorCode: errorSummary`, which carry no credentials."""
    try:
        payload = response.json()
    except ValueError:
        return "no error details"
    if not isinstance(payload, dict):
        return "no error details"
    return f"{payload.get('errorCode', 'unknown')}: {str(payload.get('errorSummary', ''))[:200]}"
