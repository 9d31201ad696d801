"""Gradio's REST API as any script calls it, and what counts as a clear message for a user.
Shared by the bad-input sweep and the fault-injection tests."""
from __future__ import annotations

import json
from pathlib import Path

CALL_TIMEOUT_S = 600          # a hang guard for one call on a busy 2-core machine, not a speed test
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "raise ", "Exception:")
# Python's own words leaking through: an internal error, not a message written for a user
INTERNAL_MARKS = ("cannot convert float", "object has no attribute", "NoneType", "invalid literal for",
                  "unsupported operand", "index out of range", "not subscriptable", "unhashable type",
                  "takes exactly", "positional argument", "out of bounds for axis")
ANONYMOUS = "has not enabled verbose error reporting"


class Api:
    """Gradio's REST API: POST /gradio_api/call/<name> with {"data": [...]}, then read the event
    stream until "complete" or "error". Files are uploaded once to /gradio_api/upload."""

    def __init__(self, base_url: str):
        import httpx
        self.base = base_url.rstrip("/")
        self.http = httpx.Client(timeout=CALL_TIMEOUT_S)
        self.uploaded: dict[Path, dict] = {}

    def _file(self, path: Path) -> dict:
        if path not in self.uploaded:
            with open(path, "rb") as f:
                r = self.http.post(f"{self.base}/gradio_api/upload", files=[("files", (path.name, f))])
            r.raise_for_status()
            self.uploaded[path] = {"path": r.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}
        return self.uploaded[path]

    def _encode(self, value):
        if isinstance(value, Path):
            return self._file(value)
        if isinstance(value, list):
            return [self._encode(v) for v in value]
        return value

    def call(self, api_name: str, args: list) -> tuple[str, str | None]:
        """("ok", the outputs as JSON text) or ("error", the message the user would see)."""
        body = json.dumps({"data": [self._encode(a) for a in args]}, allow_nan=True)
        r = self.http.post(f"{self.base}/gradio_api/call{api_name}", content=body,
                           headers={"content-type": "application/json"})
        if r.status_code != 200:
            return "error", f"HTTP {r.status_code}: {r.text[:300]}"
        event = None
        with self.http.stream("GET", f"{self.base}/gradio_api/call{api_name}/{r.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line.split(":", 1)[1].strip()
                    if event == "complete":
                        return "ok", data
                    try:
                        message = (json.loads(data) or {}).get("error") if data.startswith("{") else json.loads(data)
                    except ValueError:
                        message = data
                    return "error", message or ""
        return "error", f"the event stream ended without a result (last event {event!r})"


def clear(message: str | None) -> bool:
    """A message written for a user: present, not Gradio's anonymous one, no traceback, no
    Python internals."""
    return bool(message) and ANONYMOUS not in message and message.strip() != "Error" and not any(
        m in message for m in TRACEBACK_MARKS + INTERNAL_MARKS)
