"""Signatures: drawn strokes checked and rendered to PNG on the server (or a typed name), and the hash of what
was signed.

The browser sends only the strokes (points from pointer events, finger or stylus); the PNG is drawn here with
Pillow, so no client can hand us an image that differs from the strokes it signed with. The SHA-256 covers the
form as shown (title, intro, fields), the answers, the signer's name and the strokes, serialised canonically.
"""

import hashlib
import io
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from portal.errors import ValidationFailed
from portal.i18n import gettext as _

# The canvas's coordinate space (static/js/signature.js scales pointer positions into it).
WIDTH, HEIGHT = 600, 200
MAX_STROKES, MAX_POINTS = 100, 5000
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def read_strokes(raw: str) -> list[list[list[int]]]:
    """The strokes posted by the canvas: a JSON list of strokes, each a list of [x, y] within the canvas.

    Empty text means no drawing (the typed name then signs). Anything else malformed is refused beside the field.
    """
    if not raw.strip():
        return []
    problem = ValidationFailed({"signature": _("The drawing could not be read; please sign again.")})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise problem from None
    if not isinstance(data, list) or len(data) > MAX_STROKES:
        raise problem
    strokes, total = [], 0
    for stroke in data:
        if not isinstance(stroke, list) or not stroke:
            raise problem
        points = []
        for point in stroke:
            if (not isinstance(point, list) or len(point) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)):
                raise problem
            x, y = round(point[0]), round(point[1])
            if not (0 <= x <= WIDTH and 0 <= y <= HEIGHT):
                raise problem
            points.append([x, y])
        total += len(points)
        strokes.append(points)
    if total > MAX_POINTS:
        raise problem
    if total < 2:
        raise ValidationFailed({"signature": _("The drawing is too short to be a signature; please sign again.")})
    return strokes


def render_png(strokes: list[list[list[int]]], typed_name: str = "") -> bytes:
    """The signature as a PNG: the strokes drawn as lines, or (no strokes) the typed name in the text font."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    if strokes:
        for stroke in strokes:
            points = [tuple(p) for p in stroke]
            if len(points) == 1:
                x, y = points[0]
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill="black")
            else:
                draw.line(points, fill="black", width=3, joint="curve")
    else:
        font = ImageFont.truetype(str(FONT), 40)
        draw.text((20, HEIGHT // 2), typed_name, fill="black", font=font, anchor="lm")
    draw.line((10, HEIGHT - 20, WIDTH - 10, HEIGHT - 20), fill=(150, 150, 150), width=1)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def signed_content(form: dict, answers: dict, signer_name: str, strokes: list) -> bytes:
    """Exactly what was signed, as canonical JSON bytes (the hash input)."""
    return json.dumps({"form": form["id"], "title": form["title"], "intro": form["intro"], "fields": form["fields"],
                       "answers": answers, "signer": signer_name, "strokes": strokes},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(form: dict, answers: dict, signer_name: str, strokes: list) -> str:
    return hashlib.sha256(signed_content(form, answers, signer_name, strokes)).hexdigest()
