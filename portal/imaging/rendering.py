"""Accepted bytes into what we store and show: metadata-free pictures, thumbnails, DICOM and STL renders.

Pure functions over bytes (no database, no actor), CPU-bound, so callers run them in a worker thread. The bytes
are untrusted, so `render` decodes them in a child process under an address-space and CPU-time limit (see
portal/imaging/sandbox.py); `render_here` is the same work in this process, for that child and for tests.
"""

import io
import logging
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from portal.imaging.formats import CONTENT_TYPES, DICOM, JPEG, PNG, STL

log = logging.getLogger("chairside.imaging")
THUMBNAIL_SIDE = 320
MAX_PIXELS = 100_000_000  # a full-mouth panoramic X-ray is ~10 MP; past this it is a decompression bomb
STL_THUMBNAIL_TRIANGLES = 60_000
# What a DICOM header may declare before anything is decoded: one shown frame, and the whole multi-frame file.
MAX_FRAME_BYTES = 256 * 1024 * 1024
MAX_DICOM_BYTES = 2 * 1024 * 1024 * 1024
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")


class Unreadable(Exception):
    """The bytes look like an accepted format but do not decode; the message says so in plain words."""


@dataclass(frozen=True)
class Rendered:
    """What one upload stores: the original (cleaned), an optional display PNG, and a JPEG thumbnail."""

    original: bytes
    content_type: str
    thumbnail: bytes
    display: bytes | None = None
    width: int | None = None
    height: int | None = None
    taken_on: date | None = None  # the date the file itself records (EXIF, DICOM), if any
    pixel_spacing: tuple[float, float] | None = None  # DICOM (row, column) spacing in mm, if the file states it


@dataclass(frozen=True)
class RenderedFile:
    """A Rendered whose original and display are files on disk (paths), for uploads too large to hold."""

    original: str
    content_type: str
    thumbnail: bytes
    display: str | None = None
    width: int | None = None
    height: int | None = None
    taken_on: date | None = None
    pixel_spacing: tuple[float, float] | None = None


def render_file(fmt: str, source: str, folder: str) -> RenderedFile:
    """Render the untrusted file `source` in a limited child, which writes the cleaned original and any display
    render into `folder`; the web process reads them back in chunks."""
    from portal.imaging import sandbox

    return sandbox.run_file(fmt, source, folder)


def render(fmt: str, data: bytes) -> Rendered:
    """Render untrusted bytes in a child process with memory and time limits; Unreadable when they are broken
    or would cost more than the limits allow."""
    from portal.imaging import sandbox

    return sandbox.run(fmt, data)


def render_here(fmt: str, data: bytes) -> Rendered:
    """Dispatch on the sniffed format; any decoder failure on these untrusted bytes means "cannot be read"."""
    try:
        return {PNG: _picture, JPEG: _picture, DICOM: _dicom, STL: _stl}[fmt](fmt, data)
    except Unreadable:
        raise
    except MemoryError:  # under the sandbox's address-space limit
        raise Unreadable("is too large or too complex to render safely") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything from struct.error to IndexError
        log.warning("upload could not be rendered as %s: %s", fmt, type(exc).__name__)
        raise Unreadable("is damaged: it cannot be read") from exc


def _open_picture(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable("has too many pixels to be a photo or X-ray") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable("is damaged: the picture cannot be read") from exc
    return image


def strip_metadata(image: Image.Image) -> Image.Image:
    """Turn the picture upright as EXIF says, then drop EXIF (GPS, camera, owner), comments and text chunks.

    Only what changes how the picture looks survives: the colour profile and palette transparency.
    """
    upright = ImageOps.exif_transpose(image)
    kept = {k: image.info[k] for k in ("icc_profile", "transparency") if k in image.info}
    upright.info = kept
    return upright


def _picture(fmt: str, data: bytes) -> Rendered:
    opened = _open_picture(data)
    taken_on = _exif_date(opened)
    image = strip_metadata(opened)
    out = io.BytesIO()
    if fmt == JPEG:
        image.save(out, "JPEG", quality=95, icc_profile=image.info.get("icc_profile"))
    else:
        image.save(out, "PNG", optimize=False)
    # 12-bit data in a 16-bit PNG looks black in a browser: such pictures get a stretched 8-bit display copy.
    display = _png(to_8bit(image)) if image.mode in DEEP_MODES else None
    return Rendered(original=out.getvalue(), content_type=CONTENT_TYPES[fmt], thumbnail=thumbnail(image),
                    display=display, width=image.width, height=image.height, taken_on=taken_on)


def _exif_date(image: Image.Image) -> date | None:
    """When the camera took the picture (DateTimeOriginal), read before the EXIF is dropped."""
    exif = image.getexif()
    stamp = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, else DateTime
    try:
        return datetime.strptime(str(stamp).strip()[:10], "%Y:%m:%d").date() if stamp else None
    except ValueError:
        return None


def to_8bit(image: Image.Image) -> Image.Image:
    """Something a browser shows: 16-bit and float greyscale stretched to 8 bits, alpha laid on white."""
    if image.mode in DEEP_MODES:
        return Image.fromarray(_stretch(np.asarray(image, dtype=np.float64)))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def _stretch(values: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return (np.clip((values - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)


def thumbnail(image: Image.Image) -> bytes:
    small = to_8bit(image).copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _dicom(fmt: str, data: bytes) -> Rendered:
    """Keep the DICOM as sent (it is the clinical record); show a windowed 8-bit PNG of its first frame."""
    import pydicom

    image = dicom_image(data)
    header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return Rendered(original=data, content_type=CONTENT_TYPES[DICOM], thumbnail=thumbnail(image),
                    display=_png(image), width=image.width, height=image.height, taken_on=_dicom_date(header),
                    pixel_spacing=dicom_pixel_spacing(header))


def _dicom_date(dataset) -> date | None:
    """Acquisition, content or study date (YYYYMMDD), whichever the modality filled in first."""
    for keyword in ("AcquisitionDate", "ContentDate", "StudyDate"):
        try:
            return datetime.strptime(str(dataset.get(keyword, "")).strip(), "%Y%m%d").date()
        except ValueError:
            continue
    return None


def dicom_pixel_spacing(dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm: PixelSpacing (calibrated in the patient) if present, else ImagerPixelSpacing (at
    the detector, as intraoral sensors record it); None when neither holds two plausible positive numbers."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = dataset.get(keyword)
        try:
            row, column = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if 0 < row <= 10 and 0 < column <= 10:  # mm per pixel: a micron to a centimetre
            return row, column
    return None


def declared_dicom_bytes(dataset) -> tuple[int, int]:
    """(bytes of one frame, bytes of every frame) as the header declares them, before any pixel is decoded."""
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    frames = max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
    samples = max(int(dataset.get("SamplesPerPixel", 1) or 1), 1)
    sample_bytes = max((int(dataset.get("BitsAllocated", 8) or 8) + 7) // 8, 1)
    frame = rows * columns * samples * sample_bytes
    return frame, frame * frames


def dicom_image(data: bytes) -> Image.Image:
    """The first frame, windowed to 8 bits; only that frame is decoded, and only if the header's sizes are sane."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, pixel_array

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
        rows, columns = int(dataset.Rows), int(dataset.Columns)
        frame_bytes, total_bytes = declared_dicom_bytes(dataset)
        if rows * columns > MAX_PIXELS or frame_bytes > MAX_FRAME_BYTES or total_bytes > MAX_DICOM_BYTES:
            raise Unreadable("has too many pixels (or frames) to be an X-ray")
        pixels = pixel_array(dataset, index=0) if int(dataset.get("NumberOfFrames", 1) or 1) > 1 \
            else dataset.pixel_array
    except Unreadable:
        raise
    # RuntimeError includes its subclass pydicom raises for a compression it has no decoder for.
    except (InvalidDicomError, AttributeError, KeyError, ValueError, TypeError, RuntimeError, OSError) as exc:
        raise Unreadable("is a DICOM file whose pixel data cannot be read (no image, or a compression we do "
                         "not support)") from exc
    if int(dataset.get("SamplesPerPixel", 1)) == 3:
        rgb = pixels if pixels.dtype == np.uint8 else _stretch(pixels.astype(np.float64))
        return Image.fromarray(rgb, "RGB")
    values = apply_modality_lut(pixels, dataset).astype(np.float64)
    grey = _stretch(values, *_window(dataset, values))
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        grey = 255 - grey
    return Image.fromarray(grey, "L")


def _window(dataset, values: np.ndarray) -> tuple[float, float]:
    """The window the modality recorded (centre/width), or the full range of the values."""
    centre, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    if centre is None or width is None:
        return float(values.min()), float(values.max())
    centre, width = _first(centre), _first(width)
    return centre - width / 2, centre + width / 2


def _first(value) -> float:
    """Window values may be multi-valued (one window per preset): the first is the modality's default."""
    from pydicom.multival import MultiValue

    return float(value[0] if isinstance(value, MultiValue) else value)


_FLOAT = rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VERTEX = re.compile(rb"vertex\s+(" + _FLOAT + rb")\s+(" + _FLOAT + rb")\s+(" + _FLOAT + rb")")


def stl_triangles(data: bytes) -> np.ndarray:
    """(n, 3, 3) float array of triangle corners, from binary or ASCII STL."""
    from portal.imaging.formats import is_binary_stl

    if is_binary_stl(data):
        record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
        triangles = np.frombuffer(data, dtype=record, offset=84)["corners"].astype(np.float64)
    else:
        corners = np.array(_VERTEX.findall(data), dtype=np.float64)
        if len(corners) < 3 or len(corners) % 3:
            raise Unreadable("is an STL file whose facets cannot be read")
        triangles = corners.reshape(-1, 3, 3)
    if not np.isfinite(triangles).all():
        raise Unreadable("is an STL file with broken coordinates")
    return triangles


def _stl(fmt: str, data: bytes) -> Rendered:
    """Keep the STL as sent; the thumbnail is a flat-shaded view from above, drawn far to near."""
    triangles = stl_triangles(data)
    return Rendered(original=data, content_type=CONTENT_TYPES[STL], thumbnail=_stl_thumbnail(triangles))


def _stl_thumbnail(triangles: np.ndarray) -> bytes:
    if len(triangles) > STL_THUMBNAIL_TRIANGLES:
        step = len(triangles) / STL_THUMBNAIL_TRIANGLES
        triangles = triangles[(np.arange(STL_THUMBNAIL_TRIANGLES) * step).astype(int)]
    tilt = np.radians(-35)  # look from above and a little in front, like a model on the bench
    rotate = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    points = (triangles - triangles.reshape(-1, 3).mean(axis=0)) @ rotate.T
    normals = np.cross(points[:, 1] - points[:, 0], points[:, 2] - points[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    lengths[lengths == 0] = 1
    light = 0.25 + 0.75 * np.abs(normals[:, 2] / lengths)
    flat = points[:, :, :2].reshape(-1, 2)
    span = max(float(np.ptp(flat[:, 0])), float(np.ptp(flat[:, 1])), 1e-9)
    side = THUMBNAIL_SIDE
    scale = (side - 20) / span
    centre = (flat.max(axis=0) + flat.min(axis=0)) / 2
    xy = (points[:, :, :2] - centre) * scale
    xy[:, :, 1] *= -1
    xy += side / 2
    image = Image.new("RGB", (side, side), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for index in np.argsort(points[:, :, 2].mean(axis=1)):
        shade = int(light[index] * 220)
        draw.polygon([tuple(p) for p in xy[index]], fill=(shade, shade, int(shade * 0.95)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
