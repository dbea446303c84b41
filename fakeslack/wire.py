"""What the fake's parts say to each other and to the app: a recorded ``Call``, a Slack error
answer (``ApiError``), an HTTP answer (``_Reply``), and the readers of Slack's parameter values.

Every other module of ``fakeslack`` builds on these; this one imports none of them (bar a type).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakeslack.faults import _LostAnswer

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

Params = dict[str, Any]
Handler = Callable[[Params], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake received and answered it."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    wall: float

    @property
    def ok(self) -> bool:
        """Whether Slack answered ok: true."""
        return self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        """The Slack error code of a refused call, else None."""
        error = self.response.get("error")
        return error if isinstance(error, str) else None


class ApiError(Exception):
    """A Slack error answer: {"ok": false, "error": ...}; `violation` marks requests Slack deems invalid."""

    def __init__(
        self,
        error: str,
        *,
        violation: bool = False,
        status: int = 200,
        messages: list[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.violation = violation
        self.status = status
        self.messages = messages or []
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Slack sends for this error."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body


def _bad_args(*messages: str) -> ApiError:
    """An invalid_arguments error (a violation) carrying Slack-style messages."""
    return ApiError("invalid_arguments", violation=True, messages=list(messages))


@dataclass
class _Reply:
    """An HTTP answer from the fake."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    lost: _LostAnswer | None = None  # the effect happened; the answer is dropped or sent late

    @classmethod
    def json(
        cls, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> _Reply:
        """A JSON reply."""
        data = json.dumps(payload).encode("utf-8")
        return cls(status, data, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str) -> _Reply:
        """A plain-text reply."""
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"})


# -------------------------------------------------------------------------------------------
# Reading Slack's parameter values
# -------------------------------------------------------------------------------------------


def _absent(value: Any) -> bool:
    """Whether a parameter counts as not given."""
    return value is None or value == ""


def _as_str(value: Any) -> str | None:
    """A parameter as a string (None when absent)."""
    if _absent(value):
        return None
    return value if isinstance(value, str) else str(value)


def _as_int(value: Any) -> int | None:
    """A parameter as an integer (None when absent or not an integer)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _truthy(value: Any) -> bool:
    """Slack's reading of a boolean parameter (true/1)."""
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)
