"""What a file really is, judged by its bytes (never by its name or the browser's type)."""

import re
import struct
from typing import BinaryIO

from portal.i18n import gettext, lazy_gettext

PNG, JPEG, DICOM, STL = "png", "jpeg", "dicom", "stl"
ACCEPTED = (PNG, JPEG, DICOM, STL)
CONTENT_TYPES = {PNG: "image/png", JPEG: "image/jpeg", DICOM: "application/dicom", STL: "model/stl"}
EXTENSIONS = {PNG: "png", JPEG: "jpg", DICOM: "dcm", STL: "stl"}
LABELS = {PNG: lazy_gettext("PNG image"), JPEG: lazy_gettext("JPEG image"), DICOM: lazy_gettext("DICOM file"),
          STL: lazy_gettext("STL scan")}

# Formats people often pick by mistake, named in the refusal so they know what they sent.
_KNOWN_OTHERS = (
    (b"%PDF-", lazy_gettext("a PDF document")),
    (b"PK\x03\x04", lazy_gettext("a ZIP archive (or Office document)")),
    (b"GIF8", lazy_gettext("a GIF image")),
    (b"II*\x00", lazy_gettext("a TIFF image")),
    (b"MM\x00*", lazy_gettext("a TIFF image")),
    (b"BM", lazy_gettext("a BMP image")),
    (b"\x7fELF", lazy_gettext("a program")),
    (b"MZ", lazy_gettext("a program")),
)
_ASCII_STL_START = re.compile(rb"\A\s*solid\b")
_ASCII_STL_FACET = re.compile(rb"\bfacet\s+normal\b.*?\bvertex\b", re.S)
_ASCII_STL_END = re.compile(rb"\bendsolid\b[^\n]*\s*\Z")


def is_binary_stl(data: bytes) -> bool:
    """80-byte header, a little-endian triangle count, then exactly 50 bytes per triangle."""
    if len(data) < 84 + 50:
        return False
    (triangles,) = struct.unpack_from("<I", data, 80)
    return triangles > 0 and len(data) == 84 + 50 * triangles


def is_ascii_stl(data: bytes) -> bool:
    """`solid name`, at least one facet with vertices, `endsolid` at the end; plain ASCII throughout."""
    if not _ASCII_STL_START.match(data[:1024]) or not data.isascii():
        return False
    return bool(_ASCII_STL_FACET.search(data[:65536])) and bool(_ASCII_STL_END.search(data[-1024:]))


def is_dicom(data: bytes) -> bool:
    """DICOM Part 10: a 128-byte preamble, then the magic `DICM`."""
    return len(data) > 132 and data[128:132] == b"DICM"


def sniff(data: bytes) -> str | None:
    """The accepted format the bytes are, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if is_dicom(data):
        return DICOM
    # Binary first: a binary STL's free-form header may itself begin with "solid".
    if is_binary_stl(data) or is_ascii_stl(data):
        return STL
    return None


def sniff_file(file: BinaryIO, size: int) -> tuple[str | None, bytes]:
    """(format or None, the first bytes) of a file, read in pieces: never the whole file at once."""
    file.seek(0)
    head = file.read(65536)
    file.seek(max(size - 1024, 0))
    tail = file.read(1024)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, head
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, head
    if is_dicom(head):
        return DICOM, head
    # Binary first: a binary STL's free-form header may itself begin with "solid".
    if size >= 84 + 50 and len(head) >= 84:
        (triangles,) = struct.unpack_from("<I", head, 80)
        if triangles > 0 and size == 84 + 50 * triangles:
            return STL, head
    if _ASCII_STL_START.match(head[:1024]) and _ASCII_STL_FACET.search(head) and _ASCII_STL_END.search(tail):
        file.seek(0)
        if all(piece.isascii() for piece in iter(lambda: file.read(2**20), b"")):
            return STL, head
    return None, head


def describe_other(data: bytes) -> str:
    """A human name for bytes we refuse, for the error message."""
    if not data:
        return gettext("empty")
    for magic, name in _KNOWN_OTHERS:
        if data.startswith(magic):
            return str(name)
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return gettext("a HEIC photo (set the camera to “Most compatible” or export as JPEG)")
    return gettext("not a format we recognise")
