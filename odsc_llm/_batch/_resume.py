"""The resume file: one JSONL line per finished item, read back on the next run.

Each finished item is appended as one line and flushed::

    {"id": 17, "ok": true, "result": {...}, "request_id": "..."}
    {"id": 18, "ok": false, "error": {"type": "RateLimitError", "message": "...", ...}}

A crash (SIGKILL, power loss) can leave a torn last line. Reading ignores it, and
opening for append truncates the file back to its last complete line first, so the
next record never glues onto the torn one and any number of further crashes and
resumes works without hand-editing.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from .._errors import InvalidRequestError
from ._results import BatchError, BatchItem, ItemId

__all__ = ["ResumeFile", "load_resume_file", "restore"]


def load_resume_file(path: str) -> dict[ItemId, dict[str, Any]]:
    """Last record per id; a torn last line (a crash mid-write) is ignored."""
    records: dict[ItemId, dict[str, Any]] = {}
    if not os.path.exists(path):
        return records
    with open(path, "rb") as handle:
        data = handle.read()
    lines = data.split(b"\n")
    # Everything after the last "\n" is a line the writer never finished.
    complete, torn = lines[:-1], lines[-1]
    for number, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InvalidRequestError(
                f"{path}:{number} is not valid JSON; is this a batch resume file? "
                "Remove the line (or the file) to go on."
            ) from None
        if not isinstance(record, dict) or "id" not in record:
            raise InvalidRequestError(f"{path}:{number} has no 'id': not a batch resume file.")
        records[record["id"]] = record
    del torn  # ignored: that item simply runs again
    return records


def _encode_result(result: Any) -> Any:
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    model_dump = getattr(result, "model_dump", None)  # pydantic, without importing it
    if callable(model_dump):
        return model_dump(mode="json")
    return result


class ResumeFile:
    """Appends finished items to ``path``, after cutting a torn last line off."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: IO[bytes] = open(path, "a+b")  # noqa: SIM115 - closed by close()
        #: A write failed: later lines could glue onto its torn line, so none are written.
        self.broken = False
        self._repair()

    def _repair(self) -> None:
        handle = self._handle
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        # Find the last "\n" from the end, in blocks; truncate everything after it.
        position = size
        block = 64 * 1024
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                end = start + cut + 1
                break
            position = start
        else:
            end = 0
        if end != size:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
        handle.seek(0, os.SEEK_END)

    def write(self, slot: BatchItem[Any]) -> None:
        """Append one finished item as one line (one ``write`` call, then flush)."""
        line: dict[str, Any] = {"id": slot.id, "ok": slot.error is None}
        if slot.error is None:
            line["result"] = _encode_result(slot.result)
            request_id = getattr(slot.result, "request_id", None)
            if isinstance(request_id, str):
                line["request_id"] = request_id
        else:
            line["error"] = slot.error.to_json()
        data = json.dumps(line, ensure_ascii=False, default=str) + "\n"
        try:
            self._handle.write(data.encode("utf-8"))
            self._handle.flush()
        except OSError:
            self.broken = True
            raise

    def close(self) -> None:
        """Close the file; after a failed write, closing (which flushes) cannot raise."""
        try:
            self._handle.close()
        except OSError:
            if not self.broken:
                raise


def restore(slot: BatchItem[Any], stored: dict[str, Any], decode: Any) -> None:
    """Fill ``slot`` from its stored record (a result, or an error kept as such)."""
    if stored.get("ok"):
        raw = stored.get("result")
        slot.result = decode(raw) if decode is not None else raw
    else:
        slot.error = BatchError.from_json(stored.get("error") or {})
    slot.resumed = True
