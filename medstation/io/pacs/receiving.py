"""Reading an association's incoming data in bulk: the P-DATA-TF PDUs already waiting on the connection are handed
to pynetdicom as one.

A PACS sends an instance as many small PDUs (Orthanc: 16 KiB each, whatever the receiver allows), and pynetdicom
spends the same Python work on each: a state-machine event, decoding, events, a DIMSE step, reading in 4 KiB pieces.
:class:`BulkSocket` reads whatever has arrived in one system call and joins the complete P-DATA-TF PDUs in it into
one, merging the fragments of the same message into one presentation data value. What pynetdicom receives is the
same DIMSE messages, in the same order, with the same bytes; nothing waits for data that has not arrived yet.

Between messages pynetdicom's threads look for work and sleep in between (every 1 ms). :func:`wait_for_work` has a
C-GET's DUL thread wait in ``select`` for data or for a PDU to send instead, and :func:`serve_promptly` has a
Storage SCP association's thread wait on its queue of received messages.
"""

from __future__ import annotations

import contextlib
import queue
import select
import socket
import struct
import time

from pynetdicom.transport import AssociationSocket

P_DATA_TF = 0x04
READ_BYTES = 1 << 20
"""The most one system call reads."""
MERGE_BYTES = 8 << 20
"""The most PDU bytes joined into one."""
TRANSFER_POLL_S = 0.0002
"""How often pynetdicom's reactor looks for work while an association carries a transfer (its own: every 1 ms).
Each look it finds nothing costs a sleep, and a transfer waits on it twice an instance: for the answer to go out and
for the next instance to be read. Only C-GET's association uses it: a Storage SCP's incoming associations are
slower with it (``listener.py``)."""
WAIT_S = 0.005
"""The longest a waiting association thread waits before it looks at its timers and whether it is to stop."""
_HEADER = struct.Struct(">BBL")
_ITEM = struct.Struct(">LBB")
_LAST_FRAGMENT = 0x02
_COMMAND = 0x01


def merge_pdata(buffer: bytes | bytearray | memoryview, limit: int = MERGE_BYTES) -> tuple[bytes, int, bytes]:
    """The first PDU of ``buffer`` joined with the complete P-DATA-TF PDUs right after it: ``(joined PDU, bytes of
    buffer used, rest)``, where ``rest`` is a P-DATA-TF PDU holding what the last PDU used carried after the joined
    part (else empty), to be handed on next; ``(b"", 0, b"")`` while the first PDU is incomplete.

    A PDU of another type comes back alone and unchanged. The joined PDU ends with the first fragment that ends a
    command set or a data set (pynetdicom reads one message part from a PDU and drops what follows it). Within it,
    consecutive fragments of one message part (same presentation context, both command or both data set) become
    one fragment."""
    view = memoryview(buffer)
    if len(view) < 6:
        return b"", 0, b""
    kind, _, length = _HEADER.unpack_from(view)
    if len(view) < 6 + length:
        return b"", 0, b""
    if kind != P_DATA_TF:
        return bytes(view[:6 + length]), 6 + length, b""
    items: list[list] = []  # [context ID, control header, [data pieces]]
    used = 0
    rest = b""
    ended = False
    try:
        while used + 6 <= len(view) and used < limit and not ended:
            kind, _, length = _HEADER.unpack_from(view, used)
            if kind != P_DATA_TF or used + 6 + length > len(view):
                break
            offset, end = used + 6, used + 6 + length
            while offset < end:
                item_length, context_id, control = _ITEM.unpack_from(view, offset)
                if item_length < 2 or offset + 4 + item_length > end:
                    raise ValueError("PDV item longer than its PDU")
                data = view[offset + 6:offset + 4 + item_length]
                offset += 4 + item_length
                if items and items[-1][0] == context_id and (items[-1][1] & _COMMAND) == (control & _COMMAND):
                    items[-1][1] = control
                    items[-1][2].append(data)
                else:
                    items.append([context_id, control, [data]])
                if control & _LAST_FRAGMENT:
                    ended = True
                    if offset < end:
                        rest = _HEADER.pack(P_DATA_TF, 0, end - offset) + bytes(view[offset:end])
                    break
            used = end
    except (struct.error, ValueError):
        _, _, length = _HEADER.unpack_from(view)
        return bytes(view[:6 + length]), 6 + length, b""  # not as expected: handed on as it came
    pieces: list = [b""]
    total = 0
    for context_id, control, data in items:
        size = sum(len(piece) for piece in data)
        pieces.append(_ITEM.pack(size + 2, context_id, control))
        pieces.extend(data)
        total += 6 + size
    pieces[0] = _HEADER.pack(P_DATA_TF, 0, total)
    return b"".join(pieces), used, rest


class BulkSocket(AssociationSocket):
    """An :class:`AssociationSocket` that reads in bulk and hands pynetdicom joined P-DATA-TF PDUs (see the module).
    Installed on a running association by :func:`receive_in_bulk`."""

    _raw: bytearray
    """Bytes read from the connection, not yet handed on."""
    _out: memoryview
    """The PDU being handed to pynetdicom (it asks for its header, then for the rest)."""

    @property
    def ready(self) -> bool:
        if self.socket is None or self._is_connected is False:
            return False
        if self._out or _complete_pdu(self._raw):
            return True
        return AssociationSocket.ready.fget(self)

    def recv(self, nr_bytes: int) -> bytearray:
        result = bytearray()
        while len(result) < nr_bytes:
            if not self._out and not self._next_pdu():
                break  # the connection closed: pynetdicom sees a short read, as from its own socket
            taken = self._out[:nr_bytes - len(result)]
            result += taken
            self._out = self._out[len(taken):]
        return result

    def _next_pdu(self) -> bool:
        """Put the next (joined) PDU in ``_out``; False when the connection closed before one was complete."""
        raw = self._raw
        while not _complete_pdu(raw):
            data = self.socket.recv(READ_BYTES)
            if not data:
                if raw:
                    self._out, self._raw = memoryview(bytes(raw)), bytearray()
                    return True
                return False
            raw += data
        self._read_waiting()
        joined, used, rest = merge_pdata(raw)
        raw[:used] = rest
        self._out = memoryview(joined)
        return True

    def _read_waiting(self) -> None:
        """Add what has already arrived on the connection, without waiting for more."""
        try:
            while len(self._raw) < MERGE_BYTES:
                readable, _, _ = select.select([self.socket], [], [], 0)
                if not readable:
                    return
                data = self.socket.recv(READ_BYTES)
                if not data:
                    return
                self._raw += data
        except (OSError, ValueError):
            return  # the next blocking read reports it


def _complete_pdu(raw: bytearray) -> bool:
    return len(raw) >= 6 and len(raw) >= 6 + _HEADER.unpack_from(raw)[2]


def receive_in_bulk(assoc) -> bool:
    """Make ``assoc`` (a pynetdicom association, requestor or acceptor) read in bulk from now on; False (and nothing
    changed) where its socket is not pynetdicom's own plain TCP socket."""
    dul = getattr(assoc, "dul", None)
    sock = getattr(dul, "socket", None)
    if type(sock) is not AssociationSocket or type(getattr(sock, "socket", None)) is not socket.socket:
        return False
    sock._raw = bytearray()
    sock._out = memoryview(b"")
    sock.__class__ = BulkSocket
    return True


def poll_often(assoc) -> None:
    """Let ``assoc``'s reactor look for work every :data:`TRANSFER_POLL_S` (an association carrying a transfer)."""
    dul = getattr(assoc, "dul", None)
    if isinstance(getattr(dul, "_run_loop_delay", None), float):
        dul._run_loop_delay = min(dul._run_loop_delay, TRANSFER_POLL_S)


class _PokingQueue(queue.Queue):
    """pynetdicom's queue of what a DUL thread is to send, waking that thread (:class:`WakingSocket`) on each put."""

    _poke: socket.socket

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            self._poke.send(b"\0")


class WakingSocket(BulkSocket):
    """A :class:`BulkSocket` whose ``ready`` waits up to :data:`WAIT_S` for data to arrive or for a PDU to be queued
    for sending (its DUL thread then looks for work without sleeping in between)."""

    _wake: socket.socket
    _poke: socket.socket

    @property
    def ready(self) -> bool:
        if self.socket is None or self._is_connected is False:
            time.sleep(0.001)  # nothing can arrive: pynetdicom's own pace
            return False
        if self._out or _complete_pdu(self._raw):
            return True
        try:
            readable, _, _ = select.select([self.socket, self._wake], [], [], WAIT_S)
        except (OSError, ValueError):
            return AssociationSocket.ready.fget(self)  # reports the closed connection as pynetdicom does
        if self._wake in readable:
            with contextlib.suppress(OSError):
                self._wake.recv(4096)
        return self.socket in readable

    def close(self) -> None:
        super().close()
        self._wake.close()
        self._poke.close()


def wait_for_work(assoc) -> bool:
    """Have ``assoc``'s DUL thread (after :func:`receive_in_bulk`) wait for data or for a PDU to send instead of
    sleeping between looks; False (and nothing changed) where it does not read in bulk or pynetdicom differs."""
    dul = getattr(assoc, "dul", None)
    sock = getattr(dul, "socket", None)
    outgoing = getattr(dul, "to_provider_queue", None)
    if type(sock) is not BulkSocket or type(outgoing) is not queue.Queue or \
            not isinstance(getattr(dul, "_run_loop_delay", None), float):
        return False
    wake, poke = socket.socketpair()
    wake.setblocking(False)
    poke.setblocking(False)
    sock._wake, sock._poke = wake, poke
    outgoing._poke = poke
    outgoing.__class__ = _PokingQueue
    sock.__class__ = WakingSocket
    dul._run_loop_delay = 0.0
    return True


class _WaitingQueue(queue.Queue):
    """A Storage SCP association's queue of received DIMSE messages: its reactor's look (a non-blocking get) waits up
    to :data:`WAIT_S` for a message instead of returning at once, so a message is served as it arrives."""

    def get(self, block: bool = True, timeout: float | None = None):
        return super().get(True, WAIT_S) if not block else super().get(block, timeout)


def serve_promptly(assoc) -> bool:
    """Have an acceptor association's reactor (a Storage SCP's) wait for each received message instead of sleeping
    between looks; False (and nothing changed) where pynetdicom differs."""
    messages = getattr(getattr(assoc, "dimse", None), "msg_queue", None)
    if type(messages) is not queue.Queue or not getattr(assoc, "is_acceptor", False):
        return False
    messages.__class__ = _WaitingQueue
    return True
