"""LogRecord: one log record of a deployment, with its level read from the record or its text."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["LogRecord"]

_DATETIME = TypeAdapter(datetime)

_LEVELS = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL",
}
# vLLM "INFO 11-27 12:00:00 [...]", "(APIServer pid=1) INFO ...", uvicorn "INFO:     ...",
# "[ERROR] ...", "2024-01-01 12:00:00,000 - WARNING - ..." (within the first ~40 chars).
_LEVEL_RE = re.compile(
    r"^.{0,40}?(?<![A-Za-z])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)(?![A-Za-z])"
)
_ERROR_RE = re.compile(r"^Traceback \(most recent call last\)|^[\w.]*(Error|Exception):")


def _level_of(data: dict[str, Any], message: str) -> str | None:
    for key in ("level", "levelname", "severity", "log_level"):
        value = data.get(key)
        if isinstance(value, str) and value.upper() in _LEVELS:
            return _LEVELS[value.upper()]
    for key in ("status", "statusCode", "status_code", "responseCode"):
        value = data.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and 100 <= value <= 599:
            return "ERROR" if value >= 500 else "WARNING" if value >= 400 else "INFO"
    match = _LEVEL_RE.match(message)
    if match:
        return _LEVELS[match.group(1)]
    if _ERROR_RE.match(message.lstrip()):
        return "ERROR"
    return None


class LogRecord(BaseModel):
    """One log record of a deployment, from the Logging Search API."""

    model_config = ConfigDict(frozen=True)

    #: When the record was emitted (UTC).
    time: datetime
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL when known (from the record or its text).
    level: str | None = None
    #: The text: the log line of the model server (predict log) or the request (access).
    message: str
    #: ``"predict"`` or ``"access"``.
    kind: str | None = None
    #: The record's unique id in OCI Logging.
    id: str | None = None
    #: The record's ``data`` object as sent by the service.
    data: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_search_result(cls, result: Any, kind: str | None = None) -> LogRecord:
        """Build from an ``oci.loggingsearch.models.SearchResult`` (its ``data`` dict)."""
        raw = getattr(result, "data", result)
        raw = raw if isinstance(raw, dict) else {}
        content = raw.get("logContent") or {}
        data = content.get("data")
        if isinstance(data, dict):
            text = data.get("message")
            message = text if isinstance(text, str) else json.dumps(data, default=str)
        else:
            message = "" if data is None else str(data)
            data = {"message": message} if data is not None else {}
        when: Any = content.get("time") or raw.get("datetime")
        try:
            parsed = _DATETIME.validate_python(when)
        except ValidationError:
            parsed = datetime.fromtimestamp(0, timezone.utc)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return cls(
            time=parsed,
            level=_level_of(data, message),
            message=message.rstrip("\n"),
            kind=kind,
            id=content.get("id"),
            data=data,
        )

    def __str__(self) -> str:
        stamp = self.time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.level or '-':<8} {self.message}"
