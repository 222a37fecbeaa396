"""Retrying HTTP client and file helpers shared by the API pullers.

Retries follow the usual rules for SaaS APIs: 429 and 503 wait for the server's `Retry-After`
(or the wait a provider-specific parser returns), other 5xx and connection failures back off
exponentially, and both are bounded by `max_retries`. Messages and logs carry URLs without
their query string, because pre-authenticated download URLs carry a credential there.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Statuses worth another attempt: rate limiting and server-side failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# A provider-specific wait parser: response and current epoch seconds -> seconds, or None.
WaitParser = Callable[[requests.Response, float], float | None]


class QueryRedactingFilter(logging.Filter):
    """Replace query-string values in urllib3's request log lines with `<redacted>`.

    urllib3 logs each request URL at DEBUG, and a pre-authenticated download URL carries its
    credential in the query string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_query(arg) for arg in record.args)
        return True


def _redact_query(value: object) -> object:
    if not isinstance(value, str) or "?" not in value:
        return value
    path, query = value.split("?", 1)
    return path + "?" + re.sub(r"=[^&]*", "=<redacted>", query)


def install_log_redaction() -> None:
    """Attach QueryRedactingFilter to urllib3's connection-pool logger, once."""
    pool_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, QueryRedactingFilter) for f in pool_logger.filters):
        pool_logger.addFilter(QueryRedactingFilter())


class PullError(Exception):
    """A pull that failed: the message names the request, the status and what to do."""


class MissingSettingError(PullError):
    """A required environment variable is absent or empty."""


def read_setting(name: str) -> str:
    """Return the environment variable `name`, raising MissingSettingError when it is unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSettingError(f"environment variable {name} is missing or empty; set it")
    return value


def redact_url(url: str) -> str:
    """Return `url` without its query string and fragment, for messages and logs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def require_secure_url(url: str, *, setting: str) -> str:
    """Return `url` stripped of a trailing slash, raising ValueError unless it is safe to use.

    Credentials travel to these URLs, so plain http is accepted only for loopback hosts.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{setting}={url!r} is not an absolute http(s) URL; give one")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{setting}={url!r} uses plain http; use https")
    return url.rstrip("/")


def same_origin(url: str, base: str) -> bool:
    """Tell whether `url` has the scheme, host and port of `base`."""
    first = urlsplit(url)
    second = urlsplit(base)
    return (first.scheme, first.netloc.lower()) == (second.scheme, second.netloc.lower())


def parse_retry_after(response: requests.Response, now: float) -> float | None:
    """Return the wait in seconds that a `Retry-After` header requests, or None without one.

    The header is either delay-seconds or an HTTP date (RFC 9110 section 10.2.3).
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        logger.warning("ignoring unparseable Retry-After header %r", value)
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


class RetryingClient:
    """A `requests.Session` wrapper that retries throttled and failed requests.

    `sleep` and `clock` (epoch seconds) are injectable so tests run without waiting.
    `max_wait_seconds` caps one wait, so a server that requests an hour cannot stall a run.
    """

    def __init__(
        self,
        *,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        timeout: float = 30.0,
        max_wait_seconds: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        wait_parser: WaitParser = parse_retry_after,
        session: requests.Session | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries={max_retries} is negative; give 0 or more")
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.clock = clock
        self.wait_parser = wait_parser
        self.session = session or requests.Session()
        install_log_redaction()

    def request(
        self,
        method: str,
        url: str,
        *,
        description: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (200,),
    ) -> requests.Response:
        """Send one request with the retries the module docstring describes, and return it.

        A response whose status is in `ok_statuses` or is a non-retryable error is returned for
        the caller to judge. `description` names the request in logs and in the PullError raised
        when retries run out. Redirects are never followed here.
        """
        accepted = frozenset(ok_statuses)
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    data=data,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__} from {redact_url(url)}"
                if attempt >= self.max_retries:
                    raise PullError(
                        f"{description} failed after {attempt + 1} attempts: {problem}; check the "
                        "network path to the host and try again later"
                    ) from None
                wait = self._backoff(attempt)
                logger.warning(
                    "%s: %s, retrying in %.1f s (attempt %d of %d)",
                    description,
                    problem,
                    wait,
                    attempt + 1,
                    self.max_retries + 1,
                )
                self.sleep(wait)
                attempt += 1
                continue

            if response.status_code in accepted or response.status_code not in RETRY_STATUSES:
                return response

            if attempt >= self.max_retries:
                raise PullError(
                    f"{description} failed after {attempt + 1} attempts: "
                    f"HTTP {response.status_code} "
                    f"from {redact_url(url)}; the service is throttling or unavailable, so try "
                    "again later or raise max_retries"
                )
            wait = self._wait_for(response, attempt)
            logger.warning(
                "%s: HTTP %d, retrying in %.1f s (attempt %d of %d)",
                description,
                response.status_code,
                wait,
                attempt + 1,
                self.max_retries + 1,
            )
            response.close()
            self.sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2**attempt, self.max_wait_seconds)

    def _wait_for(self, response: requests.Response, attempt: int) -> float:
        """Return the wait before the next attempt: the server's own wait when it gives one."""
        if response.status_code in (429, 503):
            asked = self.wait_parser(response, self.clock())
            if asked is not None:
                return min(asked, self.max_wait_seconds)
        return self._backoff(attempt)


def write_atomically(path: Path, chunks: Iterable[bytes]) -> Path:
    """Write `chunks` to `path` through a temporary file in the same folder, then rename.

    A reader (or the landing sensor) therefore reads either the old file or the whole new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def utc_stamp(moment: datetime) -> str:
    """Format an aware datetime as a compact UTC stamp safe in file names (20240501T000000Z)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
