"""Real files of every accepted kind, made here (Pillow, pydicom, numpy), plus an image stored through the domain."""

import io
import struct

import numpy as np
from PIL import ExifTags, Image

from portal.imaging import images as imaging
from portal.permissions import Actor

CUBE = [((0, 0, 0), (1, 0, 0), (1, 1, 0)), ((0, 0, 0), (1, 1, 0), (0, 1, 0)),
        ((0, 0, 1), (1, 1, 1), (1, 0, 1)), ((0, 0, 1), (0, 1, 1), (1, 1, 1)),
        ((0, 0, 0), (1, 0, 1), (1, 0, 0)), ((0, 0, 0), (0, 0, 1), (1, 0, 1)),
        ((0, 1, 0), (1, 1, 0), (1, 1, 1)), ((0, 1, 0), (1, 1, 1), (0, 1, 1)),
        ((0, 0, 0), (0, 1, 0), (0, 1, 1)), ((0, 0, 0), (0, 1, 1), (0, 0, 1)),
        ((1, 0, 0), (1, 0, 1), (1, 1, 1)), ((1, 0, 0), (1, 1, 1), (1, 1, 0))]
GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 22.0, 8.0),
       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (4.0, 53.0, 41.0)}


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TabletCam"
    exif[ExifTags.Base.GPSInfo] = GPS
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:10:05 09:30:00"
    return exif


def picture(fmt: str = "JPEG", size=(40, 20), orientation: int = 1) -> bytes:
    """A gradient picture carrying EXIF GPS coordinates (and an orientation that turns it)."""
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    pixels = np.stack([np.tile(x, (size[1], 1))] * 3, axis=-1)
    out = io.BytesIO()
    extra = {"xmp": b"<x:xmpmeta><exif:GPSLatitude>52,22.13N</exif:GPSLatitude></x:xmpmeta>"} if fmt == "JPEG" else {}
    Image.fromarray(pixels, "RGB").save(out, fmt, exif=exif_with_gps(orientation), **extra)
    return out.getvalue()


def dicom(rows: int = 64, columns: int = 48, pixel_spacing=None, imager_pixel_spacing=None) -> bytes:
    """A 12-bit DX image with a window (and the pixel spacings given, mm), written as a DICOM Part 10 file."""
    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Jansen^Anna"
    ds.Modality = "DX"
    ds.StudyDate = "20260914"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    if pixel_spacing:
        ds.PixelSpacing = list(pixel_spacing)
    if imager_pixel_spacing:
        ds.ImagerPixelSpacing = list(imager_pixel_spacing)
    ds.PixelData = (np.linspace(0, 4095, rows * columns).reshape(rows, columns).astype(np.uint16)).tobytes()
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def stl_binary(header: bytes = b"solid cube (a binary STL whose header starts like ASCII)") -> bytes:
    body = b"".join(struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *v) for v in tri) + b"\0\0"
                    for tri in CUBE)
    return header.ljust(80, b" ")[:80] + struct.pack("<I", len(CUBE)) + body


def stl_ascii() -> bytes:
    facets = "".join("  facet normal 0 0 0\n    outer loop\n"
                     + "".join(f"      vertex {x} {y} {z}\n" for x, y, z in tri)
                     + "    endloop\n  endfacet\n" for tri in CUBE)
    return f"solid cube\n{facets}endsolid cube\n".encode()


async def stored(actor: Actor, patient_id: int, name: str = "xray.png", data: bytes | None = None, **fields) -> int:
    """One image stored through the domain, as an upload would."""
    form = imaging.UploadForm(**{"kind": "xray", **fields})
    [image_id] = await imaging.upload_images(actor, patient_id, form,
                                             [imaging.UploadedFile(name, data or picture("PNG"))], 10 * 2**20)
    return image_id


def stl_torus(rings: int = 48, sides: int = 24) -> bytes:
    """A binary STL torus (a few thousand triangles): round enough to see shading in a screenshot."""
    u = np.linspace(0, 2 * np.pi, rings + 1)
    v = np.linspace(0, 2 * np.pi, sides + 1)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    grid = np.stack([(10 + 4 * np.cos(vv)) * np.cos(uu), (10 + 4 * np.cos(vv)) * np.sin(uu), 4 * np.sin(vv)], -1)
    a, b, c, d = grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]
    triangles = np.concatenate([np.stack([a, b, c], -2), np.stack([a, c, d], -2)]).reshape(-1, 3, 3)
    record = np.zeros(len(triangles), dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
    record["corners"] = triangles
    return b"torus".ljust(80, b" ") + struct.pack("<I", len(triangles)) + record.tobytes()
