"""fakeslack: a local, honest stand-in for Slack used by the escalation bot's tests and sandbox.

``FakeSlack`` serves the Web API (and response/upload URLs, and Socket Mode WebSockets) and refuses
what Slack would refuse; ``SlackSender`` plays Slack's part towards the app: signed slash commands,
interactions and events over HTTP; ``SocketSender`` sends the same over Socket Mode. A UI such as
the sandbox reads the workspace as a person sees it from ``FakeSlack`` (``conversations``,
``history``, ``thread``, ``ephemerals_for``, ``open_view``, ``view_errors``, ``home_view``,
``users``) and follows it with ``version`` / ``wait_for_change``.
"""

from fakeslack.blocks import validate_blocks, validate_view
from fakeslack.sender import Reply, SlackSender, SocketSender, fill_state, sign
from fakeslack.server import ApiError, Call, FakeSlack
from fakeslack.spec import MethodSpec, methods

__all__ = [
    "ApiError",
    "Call",
    "FakeSlack",
    "MethodSpec",
    "Reply",
    "SlackSender",
    "SocketSender",
    "fill_state",
    "methods",
    "sign",
    "validate_blocks",
    "validate_view",
]
