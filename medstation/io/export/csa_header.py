"""The Siemens CSA image header cut down to what a mosaic needs to be read: no identity travels in it.

A Siemens mosaic keeps its tiling and slice geometry only in the private CSA image header (0029,xx10). That
header also carries the station name, protocol text and free text; a de-identified export keeps a copy holding
only the elements of :data:`KEPT` (mosaic size, slice normal, diffusion encoding, ICE dimensions), copied byte for
byte in the CSA2 layout that ``nibabel.nicom.csareader`` reads. Written by hand because no library writes CSA.
"""

from __future__ import annotations

import struct

KEPT = frozenset({"NumberOfImagesInMosaic", "SliceNormalVector", "AcquisitionMatrixText", "B_value", "B_matrix",
                  "DiffusionGradientDirection", "ICE_Dims"})
_TAG = struct.Struct("<64si4s3i")
_ITEM = struct.Struct("<4i")


def reduced_csa_header(data: bytes) -> bytes | None:
    """A CSA2 image header (``SV10``) keeping only the :data:`KEPT` elements; None when ``data`` is not one this
    reads (CSA1, damaged, or without any kept element)."""
    if data[:4] != b"SV10" or len(data) < 16:
        return None
    try:
        n_tags, check = struct.unpack_from("<2I", data, 8)
        offset, kept = 16, []
        for _ in range(n_tags):
            start = offset
            name, _vm, _vr, _syngodt, n_items, _last = _TAG.unpack_from(data, offset)
            offset += _TAG.size
            for _ in range(n_items):
                item_length = _ITEM.unpack_from(data, offset)[1]
                offset += _ITEM.size + item_length + (-item_length % 4)
            if offset > len(data):
                return None
            if name.split(b"\0", 1)[0].decode("ascii", "replace") in KEPT:
                kept.append(data[start:offset])
    except struct.error:
        return None
    if not kept:
        return None
    return data[:8] + struct.pack("<2I", len(kept), check) + b"".join(kept)
