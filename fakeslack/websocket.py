"""The server side of RFC 6455 WebSockets, stdlib only: what FakeSlack needs to play Socket Mode.

``handshake_problem`` checks a client's opening handshake (RFC 6455 section 4.2.1) and
``accept_key`` computes its ``Sec-WebSocket-Accept``. ``WebSocket`` then runs one accepted
connection: it reads the client's frames (which must be masked), reassembles fragmented messages,
answers pings with pongs, echoes a close frame and hands text messages to a callback; it sends
unmasked text, ping and close frames, and can ping on its own at an interval, as Slack does.
Anything a conforming client would not send is reported through ``on_violation`` and, where the
RFC says so, fails the connection with the matching close code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
_DATA_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY})
_CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_NO_STATUS = 1005
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_TOO_BIG = 1009

MAX_MESSAGE = 16 * 1024 * 1024  # bytes; far above anything Socket Mode carries


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key.strip() + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def handshake_problem(method: str, version: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
    """Why an opening handshake must be refused, as (HTTP status, reason); None when it is valid.

    `headers` must look names up case-insensitively (http.client.HTTPMessage does).
    """
    if method != "GET":
        return 405, f"the opening handshake must be a GET, not {method}"
    if version != "HTTP/1.1":
        return 400, f"the opening handshake must be HTTP/1.1, not {version}"
    if not headers.get("Host"):
        return 400, "the opening handshake lacks a Host header"
    if (headers.get("Upgrade") or "").strip().lower() != "websocket":
        return 400, "the opening handshake lacks `Upgrade: websocket`"
    tokens = {t.strip().lower() for t in (headers.get("Connection") or "").split(",")}
    if "upgrade" not in tokens:
        return 400, "the opening handshake lacks `Connection: Upgrade`"
    if (headers.get("Sec-WebSocket-Version") or "").strip() != "13":
        return 426, "Sec-WebSocket-Version must be 13"
    key = (headers.get("Sec-WebSocket-Key") or "").strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        return 400, "Sec-WebSocket-Key must be 16 random bytes, base64-encoded"
    return None


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One frame; servers send unmasked frames (mask=None), clients pass a 4-byte mask key."""
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask is None:
        return head + payload
    return head + mask + _unmask(payload, mask)


def _unmask(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the repeating 4-byte `mask` (masking and unmasking are the same)."""
    if not data:
        return b""
    key = int.from_bytes((mask * (len(data) // 4 + 1))[: len(data)], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(len(data), "big")


@dataclass(frozen=True)
class Frame:
    """One frame as read from a client, payload already unmasked."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes


class ProtocolError(Exception):
    """The peer broke RFC 6455; `code` is the close code to fail the connection with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def read_frame(read: Callable[[int], bytes]) -> Frame | None:
    """Read one frame with `read(n)` (blocking, short only at EOF); None on a clean EOF."""
    head = read(2)
    if not head:
        return None
    if len(head) < 2:
        raise EOFError("connection closed inside a frame header")
    fin, rsv, opcode = bool(head[0] & 0x80), (head[0] >> 4) & 0x7, head[0] & 0x0F
    masked, length = bool(head[1] & 0x80), head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", _exactly(read, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _exactly(read, 8))[0]
    if length > MAX_MESSAGE:
        raise ProtocolError(CLOSE_TOO_BIG, f"frame of {length} bytes")
    mask = _exactly(read, 4) if masked else b""
    payload = _exactly(read, length)
    return Frame(fin, rsv, opcode, masked, _unmask(payload, mask) if masked else payload)


def _exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """Exactly `size` bytes from `read`, or EOFError."""
    if size == 0:
        return b""
    data = read(size)
    if len(data) != size:
        raise EOFError("connection closed inside a frame")
    return data


class WebSocket:
    """One accepted server-side connection; `run()` reads until the connection ends."""

    def __init__(
        self,
        sock: socket.socket,
        rfile: BinaryIO,
        *,
        on_text: Callable[[WebSocket, str], None],
        on_violation: Callable[[str], None],
        ping_interval: float | None = None,
        name: str = "websocket",
    ) -> None:
        self.sock = sock
        self.rfile = rfile
        self.name = name
        self.on_text = on_text
        self.on_violation = on_violation
        self.ping_interval = ping_interval
        self.opened_at = time.monotonic()
        self.last_pong: float | None = None
        self.close_code: int | None = None  # the code of the client's close frame, once received
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closed = threading.Event()
        self._close_sent = False
        self._ping_ids = itertools.count(1)
        self._pings: dict[bytes, threading.Event] = {}

    # -- sending ----------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether frames can still be sent (no close frame sent, connection not ended)."""
        return not self._closed.is_set() and not self._close_sent

    def send_text(self, text: str) -> None:
        """Send a text message in one frame; ConnectionError if the connection is gone."""
        self._send(OP_TEXT, text.encode("utf-8"))

    def ping(self, payload: bytes | None = None) -> threading.Event:
        """Send a ping; the returned event is set when the matching pong arrives."""
        data = payload or f"fakeslack-ping-{next(self._ping_ids)}".encode()
        answered = threading.Event()
        with self._state_lock:
            if len(self._pings) >= 64:  # a client that never answers: forget the oldest
                self._pings.pop(next(iter(self._pings)))
            self._pings[data] = answered
        self._send(OP_PING, data)
        return answered

    def close(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Send a close frame (once) and end the connection without waiting for the client's."""
        self._send_close(code, reason)
        self._shutdown()

    def _send(self, opcode: int, payload: bytes) -> None:
        """Write one unmasked frame."""
        if not self.open:
            raise ConnectionError(f"{self.name} is closed")
        frame = encode_frame(opcode, payload)
        with self._send_lock:
            try:
                self.sock.sendall(frame)
            except OSError as exc:
                self._closed.set()
                raise ConnectionError(f"{self.name}: {exc}") from exc

    def _send_close(self, code: int, reason: str = "") -> None:
        """Send a close frame unless one was sent already."""
        with self._state_lock:
            if self._close_sent or self._closed.is_set():
                return
            self._close_sent = True
        payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
        with self._send_lock:
            try:
                self.sock.sendall(encode_frame(OP_CLOSE, payload))
            except OSError:
                pass

    def _shutdown(self) -> None:
        """End the TCP connection; the reader sees EOF and run() returns."""
        self._closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- receiving --------------------------------------------------------------------------------

    def run(self) -> None:
        """Read and dispatch frames until the connection ends; then shut it down."""
        if self.ping_interval:
            threading.Thread(target=self._keepalive, name=f"{self.name}-ping", daemon=True).start()
        try:
            self._read_loop()
        except ProtocolError as exc:
            self.on_violation(f"{self.name}: {exc.reason}")
            self._send_close(exc.code, exc.reason)
        except (EOFError, OSError, ValueError):
            pass  # the client went away (or we shut the socket down)
        finally:
            self._shutdown()

    def _read_loop(self) -> None:
        """The frame loop of run()."""
        message: bytearray | None = None
        message_opcode = OP_TEXT
        while not self._closed.is_set():
            frame = read_frame(self.rfile.read)
            if frame is None:
                return
            if not frame.masked:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "client frames must be masked (RFC 6455 5.1)")
            if frame.rsv:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "RSV bits set without a negotiated extension")
            if frame.opcode in _CONTROL_OPCODES:
                if not frame.fin or len(frame.payload) > 125:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames must be unfragmented and <= 125 bytes")
                if self._control(frame):
                    return
                continue
            if frame.opcode not in _DATA_OPCODES:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"reserved opcode {frame.opcode:#x}")
            if frame.opcode == OP_CONTINUATION:
                if message is None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "continuation frame without a message to continue")
                message += frame.payload
            else:
                if message is not None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "new message before the previous one finished")
                message, message_opcode = bytearray(frame.payload), frame.opcode
            if len(message) > MAX_MESSAGE:
                raise ProtocolError(CLOSE_TOO_BIG, f"message over {MAX_MESSAGE} bytes")
            if frame.fin:
                data, message = bytes(message), None
                self._deliver(message_opcode, data)

    def _control(self, frame: Frame) -> bool:
        """Handle a close, ping or pong frame; True when the connection is over."""
        if frame.opcode == OP_PING:
            try:
                self._send(OP_PONG, frame.payload)
            except ConnectionError:
                return True
            return False
        if frame.opcode == OP_PONG:
            with self._state_lock:
                answered = self._pings.pop(frame.payload, None)
            self.last_pong = time.monotonic()
            if answered is not None:
                answered.set()
            return False
        # OP_CLOSE: echo the status code (RFC 6455 5.5.1), then end the connection.
        if len(frame.payload) == 1:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload")
        code = struct.unpack("!H", frame.payload[:2])[0] if frame.payload else CLOSE_NO_STATUS
        self.close_code = code
        self._send_close(CLOSE_NORMAL if code == CLOSE_NO_STATUS else code)
        return True

    def _deliver(self, opcode: int, data: bytes) -> None:
        """Hand a complete message to on_text."""
        if opcode == OP_BINARY:
            raise ProtocolError(CLOSE_UNSUPPORTED_DATA, "binary message; this endpoint speaks JSON text only")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8") from None
        self.on_text(self, text)

    def _keepalive(self) -> None:
        """Ping the client every ping_interval seconds while the connection is open."""
        interval = self.ping_interval or 0
        while not self._closed.wait(interval):
            try:
                self.ping()
            except ConnectionError:
                return
