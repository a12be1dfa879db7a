"""Log lines of the long-running controller: one line per event, as text or JSON, secrets redacted.

Redaction happens in the formatter, so that no code path (our messages, AWS and git error
texts, tracebacks) can print a credential: URL user-info, AWS access keys, ``NAME=value``
pairs whose name looks secret, and the values of this process's secret-looking environment
variables and of any secret registered at start-up (the webhook secret). Does I/O: writes
to the stream it is given.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from controller.source.git_errors import redact_url

LOGGER_NAME = "ecs-gitops"
MASK = "***"

# Names of variables, fields and flags whose values are secrets.
_SECRET_NAME = re.compile(
    r"(secret|token|passw(or)?d|passphrase|credential|private[_-]?key|api[_-]?key|"
    r"access[_-]?key|session[_-]?key|authorization|signature|cookie)",
    re.IGNORECASE,
)
# ``NAME=value`` / ``NAME: value`` where NAME looks secret; the value runs to the next space.
_SECRET_PAIR = re.compile(
    r"(?P<name>[A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|passphrase|credential|"
    r"private[_-]?key|api[_-]?key|access[_-]?key|session[_-]?key|authorization|signature)"
    r"[A-Za-z0-9_.-]*)"
    r"(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^\s\",;&]+)",
    re.IGNORECASE,
)
# AWS access key ids (long-term AKIA, temporary ASIA).
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# Values shorter than this are not searched for verbatim: "1" or "on" would blank out prose.
_MIN_SECRET_LENGTH = 6


def looks_secret(name: str) -> bool:
    """Whether a variable or field of this name holds a secret (``DB_PASSWORD``, ``apiToken``)."""
    return bool(_SECRET_NAME.search(name))


class Redactor:
    """Removes credentials and known secret values from text. Thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor that knows the values of every secret-looking environment variable."""
        environ = os.environ if environ is None else environ
        return cls(value for name, value in environ.items() if looks_secret(name))

    def add(self, secret: str) -> None:
        """Never print ``secret`` (ignored when too short to search for safely)."""
        secret = secret.strip()
        if len(secret) >= _MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        with self._lock:
            # longest first, so that a secret containing another is masked whole
            known = sorted(self._secrets, key=len, reverse=True)
        for secret in known:
            text = text.replace(secret, MASK)
        text = redact_url(text)
        text = _ACCESS_KEY_ID.sub(MASK, text)
        return _SECRET_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)


# LogRecord attributes that are not extra fields passed with ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    at = datetime.fromtimestamp(record.created, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Formatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def _text_of(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


class TextFormatter(_Formatter):
    """``2024-05-01T12:00:00.000Z INFO message key=value ...``; newlines escaped (one line)."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(_fields(record).items()))
        line = f"{_timestamp(record)} {record.levelname} {self._text_of(record)}"
        if extra:
            line += f" {extra}"
        return self.redact(line).replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(_Formatter):
    """One JSON object per line: ``time``, ``level``, ``message`` and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "message": self.redact(self._text_of(record)),
            **{k: self.redact(v) if isinstance(v, str) else v for k, v in _fields(record).items()},
        }
        # and once more encoded, so that no field (nested ones included) escapes it
        return self.redact(json.dumps(document, default=str, ensure_ascii=False))


def configure(*, fmt: str, redact: Redactor, stream: TextIO | None = None) -> logging.Logger:
    """Send the controller's log (and its libraries' warnings) to ``stream`` in ``fmt``."""
    formatter: logging.Formatter = JsonFormatter(redact) if fmt == "json" else TextFormatter(redact)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    # APScheduler reports every job start at INFO: the controller logs its passes itself
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return logger
