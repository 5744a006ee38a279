"""Receiving in bulk: P-DATA-TF PDUs joined without changing the messages they carry; the file meta information and
the study/series UIDs of a received instance read without pydicom, equal to what pydicom gives."""

from __future__ import annotations

import struct
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.filereader import read_file_meta_info
from pynetdicom.dsutils import create_file_meta, encode_file_meta

from medstation.io.pacs.part10 import PREAMBLE, file_head, file_identity, study_and_series
from medstation.io.pacs.receiving import merge_pdata

DATA = Path(__file__).resolve().parents[2] / "data" / "dicom"
GE = sorted((DATA / "ge_tilt").glob("*.dcm"))
MOSAIC = sorted((DATA / "siemens_mosaic").rglob("*.dcm"))


def pdu(*items: tuple[int, int, bytes]) -> bytes:
    body = b"".join(struct.pack(">LBB", len(data) + 2, context, control) + data for context, control, data in items)
    return struct.pack(">BBL", 4, 0, len(body)) + body


def pdvs(joined: bytes) -> list[tuple[int, int, bytes]]:
    kind, _, length = struct.unpack_from(">BBL", joined)
    assert kind == 4 and length == len(joined) - 6
    items, offset = [], 6
    while offset < len(joined):
        size, context, control = struct.unpack_from(">LBB", joined, offset)
        items.append((context, control, joined[offset + 6:offset + 4 + size]))
        offset += 4 + size
    return items


def test_fragments_of_one_message_part_are_joined_and_nothing_crosses_its_end():
    stream = b"".join([
        pdu((1, 1, b"cmd-a")), pdu((1, 3, b"cmd-b")),  # a command set in two fragments
        pdu((1, 0, b"data-1")), pdu((1, 0, b"data-2")), pdu((1, 2, b"data-3")),  # its data set in three
        pdu((3, 3, b"next")),  # the next message
    ])
    joined, used, rest = merge_pdata(stream)
    assert pdvs(joined) == [(1, 3, b"cmd-acmd-b")] and not rest
    stream = stream[used:]
    joined, used, rest = merge_pdata(stream)
    assert pdvs(joined) == [(1, 2, b"data-1data-2data-3")] and not rest
    stream = stream[used:]
    joined, used, rest = merge_pdata(stream)
    assert pdvs(joined) == [(3, 3, b"next")] and used == len(stream)


def test_a_pdu_carrying_the_end_of_one_message_part_and_the_start_of_the_next_is_split():
    stream = pdu((1, 0, b"data-1")) + pdu((1, 2, b"data-2"), (3, 3, b"next-command")) + pdu((3, 0, b"x"))
    joined, used, rest = merge_pdata(stream)
    assert pdvs(joined) == [(1, 2, b"data-1data-2")]
    assert pdvs(rest) == [(3, 3, b"next-command")]
    remaining = rest + stream[used:]
    joined, used, rest = merge_pdata(remaining)
    assert pdvs(joined) == [(3, 3, b"next-command")] and not rest
    assert pdvs(merge_pdata(remaining[used:])[0]) == [(3, 0, b"x")]


def test_incomplete_and_other_pdus():
    whole = pdu((1, 0, b"data-1"))
    assert merge_pdata(whole[:-1]) == (b"", 0, b"")
    assert merge_pdata(whole[:4]) == (b"", 0, b"")
    release = bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
    assert merge_pdata(release + whole) == (release, len(release), b"")
    # a complete P-DATA-TF followed by an incomplete one: only the complete one is handed on
    joined, used, _ = merge_pdata(whole + whole[:-2])
    assert pdvs(joined) == [(1, 0, b"data-1")] and used == len(whole)
    # a damaged PDV length: the PDU is handed on unchanged for pynetdicom to refuse
    damaged = struct.pack(">BBL", 4, 0, 8) + struct.pack(">LBB", 100, 1, 0) + b"ab"
    assert merge_pdata(damaged) == (damaged, len(damaged), b"")


def test_a_merged_stream_carries_the_same_bytes():
    fragments = [bytes([n]) * (n * 37 % 500 + 1) for n in range(200)]
    stream = pdu((5, 1, b"c"), ) + pdu((5, 3, b"d")) + b"".join(
        pdu((5, 2 if n == len(fragments) - 1 else 0, fragment)) for n, fragment in enumerate(fragments))
    received, offset = [], 0
    while offset < len(stream):
        joined, used, rest = merge_pdata(stream[offset:], limit=4096)
        assert not rest and used
        received.extend(pdvs(joined))
        offset += used
    assert received[0] == (5, 3, b"cd")
    assert b"".join(data for _, _, data in received[1:]) == b"".join(fragments)
    assert [control for _, control, _ in received[1:]][-1] == 2
    assert all(control == 0 for _, control, _ in received[1:-1])


def _implicit_copy(path: Path, folder: Path) -> Path:
    from pydicom.uid import ImplicitVRLittleEndian

    dataset = dcmread(path)
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    copy = folder / "implicit.dcm"
    dataset.save_as(copy, implicit_vr=True, little_endian=True, enforce_file_format=True)
    return copy


@pytest.mark.parametrize("name", ["ge", "ge-implicit", "mosaic"])
def test_uids_and_file_meta_read_without_pydicom_equal_pydicom(name, tmp_path):
    path = {"ge": GE[0], "mosaic": MOSAIC[0]}.get(name) or _implicit_copy(GE[0], tmp_path)
    raw = path.read_bytes()
    meta = read_file_meta_info(path)
    syntax = meta.TransferSyntaxUID
    assert syntax.is_implicit_VR == (name == "ge-implicit")
    start = 132 + 12 + int(meta.FileMetaInformationGroupLength)
    header = dcmread(path, stop_before_pixels=True)
    assert study_and_series(raw[start:], syntax.is_implicit_VR) == (str(header.StudyInstanceUID),
                                                                  str(header.SeriesInstanceUID))
    expected = PREAMBLE + encode_file_meta(create_file_meta(
        sop_class_uid=header.SOPClassUID, sop_instance_uid=header.SOPInstanceUID, transfer_syntax=syntax))
    assert file_head(header.SOPClassUID, header.SOPInstanceUID, syntax) == expected
    assert dcmread(BytesIO(file_head(header.SOPClassUID, header.SOPInstanceUID, syntax) + raw[start:])
                   ).SOPInstanceUID == header.SOPInstanceUID
    assert file_identity(raw) == (str(header.StudyInstanceUID), str(header.SeriesInstanceUID),
                                  str(header.SOPInstanceUID))


def test_files_whose_uids_cannot_be_read_without_pydicom_are_left_to_it(tmp_path):
    from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian

    raw = GE[0].read_bytes()
    assert file_identity(raw[132:]) is None  # no preamble
    assert file_identity(b"") is None and file_identity(raw[:200]) is None  # cut short
    explicit = read_file_meta_info(GE[0]).TransferSyntaxUID.encode() + b"\0"
    assert explicit in raw[:400] and len(ExplicitVRBigEndian) == len(explicit) - 1
    assert file_identity(raw.replace(explicit, ExplicitVRBigEndian.encode() + b"\0", 1)) is None  # said big endian
    dataset = dcmread(GE[0])
    dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    dataset.save_as(tmp_path / "deflated.dcm", enforce_file_format=True)
    assert file_identity((tmp_path / "deflated.dcm").read_bytes()) is None


def test_uids_not_found_in_data_that_is_not_a_data_set():
    assert study_and_series(b"", True) is None
    assert study_and_series(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100", False) is None
    assert study_and_series(b"\xff" * 64, False) is None


def test_a_transfer_association_polls_often_and_other_objects_are_left_alone():
    from types import SimpleNamespace

    from medstation.io.pacs.receiving import TRANSFER_POLL_S, poll_often

    assoc = SimpleNamespace(dul=SimpleNamespace(_run_loop_delay=0.001))
    poll_often(assoc)
    assert assoc.dul._run_loop_delay == TRANSFER_POLL_S
    other = SimpleNamespace(dul=SimpleNamespace())
    poll_often(other)
    assert not hasattr(other.dul, "_run_loop_delay")


def _association(mode: str):
    """A pynetdicom association of ``mode`` whose connection is one end of a socket pair (the other is returned)."""
    import socket

    from pynetdicom import AE, Association
    from pynetdicom.transport import AssociationSocket

    ours, theirs = socket.socketpair()
    assoc = Association(AE(), mode)
    assoc.dul.socket = AssociationSocket(assoc, client_socket=ours)
    return assoc, theirs


def test_a_c_get_association_waits_for_data_or_something_to_send():
    import select

    from medstation.io.pacs.receiving import WakingSocket, receive_in_bulk, wait_for_work

    assoc, peer = _association("requestor")
    assert not wait_for_work(assoc)  # only after receive_in_bulk
    assert receive_in_bulk(assoc) and wait_for_work(assoc)
    sock, dul = assoc.dul.socket, assoc.dul
    assert type(sock) is WakingSocket and dul._run_loop_delay == 0.0
    assert sock.ready is False  # nothing arrived, nothing to send: it waited, then says so
    dul.to_provider_queue.put("a primitive")
    assert select.select([sock._wake], [], [], 0)[0] == [sock._wake]  # the waiting thread is woken
    assert sock.ready is False and select.select([sock._wake], [], [], 0)[0] == []  # the wake-up is taken
    assert dul.to_provider_queue.get_nowait() == "a primitive"
    peer.sendall(b"\x07\x00\x00\x00\x00\x04\x00\x00\x00\x00")  # an A-ABORT PDU
    assert sock.ready is True and bytes(sock.recv(10)) == b"\x07\x00\x00\x00\x00\x04\x00\x00\x00\x00"
    sock.close()
    assert sock._wake.fileno() == -1 and sock._poke.fileno() == -1
    dul.to_provider_queue.put("after the close")  # no error once the wake-up pair is closed
    assert sock.ready is False
    peer.close()


def test_a_storage_scp_association_serves_each_message_as_it_arrives():
    import queue

    from medstation.io.pacs.receiving import serve_promptly

    requestor, peer = _association("requestor")
    assert not serve_promptly(requestor)
    peer.close()
    assoc, peer = _association("acceptor")
    assert serve_promptly(assoc)
    messages = assoc.dimse.msg_queue
    with pytest.raises(queue.Empty):
        messages.get(block=False)  # the reactor's look: waits a little, then finds nothing
    messages.put((1, "message"))
    assert messages.get(block=False) == (1, "message")
    assert assoc.dimse.get_msg(block=False) == (None, None)
    peer.close()
