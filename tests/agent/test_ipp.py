"""The IPP client's encoding and its parser of responses (the pure part; the print channel's
tests talk to a real cupsd)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ipp import GET_JOBS, IppError, _request, parse_response


def _attribute(tag: int, name: str, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def test_a_request_is_the_version_the_operation_its_id_and_the_attributes_in_order() -> None:
    body = _request(GET_JOBS, 7, "ipp://localhost/", "root", [(0x44, "requested-attributes", ["job-id", "job-state"])])
    assert body[:8] == bytes([2, 0, 0, 0x0A, 0, 0, 0, 7]) and body[8] == 0x01 and body[-1] == 0x03
    assert _attribute(0x47, "attributes-charset", b"utf-8") in body
    # the second value of an attribute has no name
    assert _attribute(0x44, "requested-attributes", b"job-id") + _attribute(0x44, "", b"job-state") in body


def test_a_response_gives_each_group_with_the_first_value_of_each_attribute() -> None:
    response = (bytes([2, 0, 0, 0, 0, 0, 0, 1, 0x01]) + _attribute(0x47, "attributes-charset", b"utf-8")
                + bytes([0x02]) + _attribute(0x21, "job-id", struct.pack(">i", 12))
                + _attribute(0x23, "job-state", struct.pack(">i", 4)) + _attribute(0x42, "job-name", "账单.pdf".encode())
                + _attribute(0x44, "job-state-reasons", b"job-hold-until-specified") + _attribute(0x44, "", b"other")
                + bytes([0x02]) + _attribute(0x21, "job-id", struct.pack(">i", 13)) + bytes([0x03]))
    status, groups = parse_response(response)
    assert status == 0 and [tag for tag, _ in groups] == [0x01, 0x02, 0x02]
    assert groups[1][1] == {"job-id": 12, "job-state": 4, "job-name": "账单.pdf",
                            "job-state-reasons": "job-hold-until-specified"}
    assert groups[2][1] == {"job-id": 13}


@pytest.mark.parametrize("response", [b"", b"\x02\x00", bytes(8) + b"\x21\x00", bytes(8) + b"\x02\x21\x00\x05job",
                                      bytes(8) + b"\x21\x00\x01a\x00\x04\x00\x00\x00\x01"])
def test_a_response_cut_short_or_without_a_group_is_an_ipp_error(response: bytes) -> None:
    with pytest.raises(IppError):
        parse_response(response)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_an_ipp_error(data: bytes) -> None:
    try:
        status, groups = parse_response(data)
    except IppError:
        return
    assert 0 <= status <= 0xFFFF and all(tag < 0x10 and isinstance(values, dict) for tag, values in groups)
