"""Log lines of the long-running controller: one line per event, as text or JSON, secrets masked.

Masking happens in the formatter, so that no code path (our messages, AWS and git error
texts, tracebacks, extra fields of any type) can print a secret: whatever
``controller.core.secrets`` masks by name or by shape, plus the values of this process's
secret-looking environment variables and of any secret registered at start-up (the webhook
secret). In JSON every line also says which ``event`` it is and, where they apply, its
``env``, ``service``, ``commit``, ``result``, ``phase``, ``strategy`` and ``durationSeconds``
(``controller.service.events``); text lines carry none of those, they read as they always
did. Does I/O: writes to the stream it is given.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from controller.core.secrets import MASK, looks_secret_name, mask_document, mask_text
from controller.service.events import LogEvent, RolloutsUnderWay

LOGGER_NAME = "ecs-gitops"

# Values shorter than this are not searched for verbatim: "1" or "on" would blank out prose.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Masks secrets in text and documents: known values, and what the core's rules find.

    Thread-safe.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor that knows the values of every secret-looking environment variable."""
        environ = os.environ if environ is None else environ
        return cls(value for name, value in environ.items() if looks_secret_name(name))

    def add(self, secret: str) -> None:
        """Never print ``secret`` (ignored when too short to search for safely)."""
        secret = secret.strip()
        if len(secret) >= _MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def _known(self, text: str) -> str:
        with self._lock:
            # longest first, so that a secret containing another is masked whole
            known = sorted(self._secrets, key=len, reverse=True)
        for secret in known:
            text = text.replace(secret, MASK)
        return text

    def __call__(self, text: str) -> str:
        return mask_text(self._known(text))

    def document(self, value: Any) -> Any:
        """A JSON value with secrets masked in every string, key by key (numbers too)."""
        return mask_document(self._known_in(value))

    def _known_in(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._known(value)
        if isinstance(value, dict):
            return {key: self._known_in(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._known_in(item) for item in value]
        return value


# The record attribute an explicit ``LogEvent`` travels in (see ``event``).
_EVENT = "ecs_gitops_event"
# LogRecord attributes that are not extra fields passed with ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", _EVENT}


def event(logged: LogEvent) -> dict[str, Any]:
    """``extra=`` for a log call whose event is known better than its message says:
    ``log.info("...", extra=event(LogEvent("pass-started")))`` (JSON only; text is unchanged)."""
    return {_EVENT: logged}


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
    """One JSON object per line: ``time``, ``level``, ``message``, the event's fields (given
    with ``event``, else read from the message's shape) and the extra fields."""

    def __init__(self, redact: Redactor, context: RolloutsUnderWay | None = None) -> None:
        super().__init__(redact)
        self.context = context or RolloutsUnderWay()

    def format(self, record: logging.LogRecord) -> str:
        message = self._text_of(record)
        given = getattr(record, _EVENT, None)
        logged = given if isinstance(given, LogEvent) else self.context.classify(message.strip())
        document: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "message": message,
            **logged.fields(),
            **_fields(record),
        }
        # every field as it will be printed (objects as their str), then masked as a document:
        # a value is masked by its own shape and by the name of the field it sits under
        printed = json.loads(json.dumps(document, default=str))
        return json.dumps(self.redact.document(printed), ensure_ascii=False)


class _QuietWhenGone(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that stops writing once its reader is gone (``run | head``), instead of
    printing a "Logging error" traceback for every line after."""

    gone = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.gone:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            self.gone = True
            return
        super().handleError(record)


def configure(
    *,
    fmt: str,
    redact: Redactor,
    stream: TextIO | None = None,
    context: RolloutsUnderWay | None = None,
) -> logging.Logger:
    """Send the controller's log (and its libraries' warnings) to ``stream`` in ``fmt``;
    ``context`` names the rollouts under way, whose lines then carry commit and strategy."""
    formatter: logging.Formatter = (
        JsonFormatter(redact, context) if fmt == "json" else TextFormatter(redact)
    )
    handler = _QuietWhenGone(stream or sys.stdout)
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
