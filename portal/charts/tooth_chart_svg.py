"""Geometry of the SVG tooth chart: computed once at import, combined per request with the chart state.

Each tooth is a square of five surfaces (the usual dental chart glyph). Buccal faces the outside of the
chart (up for upper teeth, down for lower), mesial faces the midline, and roots sit on the outer side,
where root canals and implants are drawn.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape

from portal import i18n
from portal.charts import teeth
from portal.display import label
from portal.i18n import gettext

SIZE = 40
STEP = 44
MIDLINE_GAP = 12
INSET = 12
WIDTH = 16 * STEP + MIDLINE_GAP
HEIGHT = 330
# (row of FDI numbers, box top y, upper arch?)
ROWS = (
    (teeth.UPPER_RIGHT + teeth.UPPER_LEFT, 20, True),
    (teeth.PRIMARY_UPPER, 100, True),
    (teeth.PRIMARY_LOWER, 182, False),
    (teeth.LOWER_RIGHT + teeth.LOWER_LEFT, 268, False),
)


@dataclass(frozen=True)
class ToothShape:
    fdi: int
    x: int
    y: int
    upper: bool
    surfaces: dict[str, str]  # letter -> SVG polygon points
    root: tuple[int, int, int, int]  # x1, y1, x2, y2 of the root line
    label_y: int


def _points(*pairs: tuple[float, float]) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in pairs)


def _surface_polygons(fdi: int, x: int, y: int, upper: bool) -> dict[str, str]:
    s, i = SIZE, INSET
    top = _points((x, y), (x + s, y), (x + s - i, y + i), (x + i, y + i))
    bottom = _points((x, y + s), (x + s, y + s), (x + s - i, y + s - i), (x + i, y + s - i))
    left = _points((x, y), (x + i, y + i), (x + i, y + s - i), (x, y + s))
    right = _points((x + s, y), (x + s - i, y + i), (x + s - i, y + s - i), (x + s, y + s))
    centre = _points((x + i, y + i), (x + s - i, y + i), (x + s - i, y + s - i), (x + i, y + s - i))
    mesial, distal = (right, left) if teeth.is_patient_right(fdi) else (left, right)
    buccal, lingual = (top, bottom) if upper else (bottom, top)
    return {"M": mesial, "O": centre, "D": distal, "B": buccal, "L": lingual}


def _layout() -> dict[int, ToothShape]:
    shapes = {}
    for row, y, upper in ROWS:
        offset = (16 - len(row)) // 2 * STEP
        half = len(row) // 2
        for index, fdi in enumerate(row):
            x = 2 + offset + index * STEP + (MIDLINE_GAP if index >= half else 0)
            mid = x + SIZE // 2
            root = (mid, y - 16, mid, y - 2) if upper else (mid, y + SIZE + 2, mid, y + SIZE + 16)
            label_y = y + SIZE + 14 if upper else y - 6
            shapes[fdi] = ToothShape(fdi, x, y, upper, _surface_polygons(fdi, x, y, upper), root, label_y)
    return shapes


SHAPES = _layout()
ORDER = [fdi for row, _, _ in ROWS for fdi in row]


@dataclass(frozen=True)
class ToothDrawing:
    """One tooth as the chart shows it, in one state, numbering and language."""

    fdi: int
    summary: str
    marked: bool  # any finding or planned work on it
    missing: bool
    link_tail: Markup  # the tooth's link after its address and classes: name, title, drawing, end tag


@dataclass(frozen=True)
class ChartDrawing:
    """The whole tooth chart of one patient: `links` is the SVG's teeth, each a link to its panel."""

    teeth: list[ToothDrawing]
    width: int = WIDTH
    height: int = HEIGHT
    _links: dict = field(default_factory=dict, compare=False, repr=False)  # tooth_base -> Markup (none selected)

    def links(self, tooth_base: str, selected: int | None = None) -> Markup:
        """Every tooth's link: `tooth_base` + FDI opens the tooth's page, or its panel through htmx (the target
        and swap are the svg's, inherited); `selected` is the tooth whose panel is open. Built as one string (52
        links of a template loop were most of the fragment's rendering time); kept with the drawing for the
        chart and fragment views (no tooth selected), so memory stays one chart's markup per drawing."""
        selected = selected if isinstance(selected, int) else None
        markup = self._links.get(tooth_base) if selected is None else None
        if markup is None:
            base = escape(tooth_base)
            markup = Markup("".join(
                f'\n<a href="{base}{t.fdi}" hx-get="{base}{t.fdi}" '
                f'class="tooth{" selected" if t.fdi == selected else ""}{" missing" if t.missing else ""}"'
                f'{t.link_tail}' for t in self.teeth))
            if selected is None:
                self._links[tooth_base] = markup
        return markup


NO_FINDINGS = {"surfaces": {}, "whole": {}}


KEPT_DRAWINGS = 256
# (id of a chart state, numbering, language) -> (that state, its drawing): odontogram keeps a patient's state as
# one object while it is current, so its drawing (and its links) is built once, not on every view. The entry holds
# the state itself, so the id cannot be reused while the entry lives.
_drawn: OrderedDict[tuple[int, str, str], tuple[dict, "ChartDrawing"]] = OrderedDict()


def drawing(chart: dict[int, dict], numbering: str) -> ChartDrawing:
    """Everything the template needs per tooth: its drawing, classes and a readable summary. `chart` is read,
    never changed (odontogram's states are shared between requests)."""
    language = i18n.current()
    key = (id(chart), numbering, language)
    kept = _drawn.get(key)
    if kept is not None and kept[0] is chart:
        _drawn.move_to_end(key)
        return kept[1]
    drawn = ChartDrawing([_tooth(fdi, numbering, tuple(state["surfaces"].items()), tuple(state["whole"].items()),
                                 language) for fdi in ORDER for state in (chart.get(fdi, NO_FINDINGS),)])
    _drawn[key] = (chart, drawn)
    while len(_drawn) > KEPT_DRAWINGS:
        _drawn.popitem(last=False)
    return drawn


@lru_cache(maxsize=8192)
def _tooth(fdi: int, numbering: str, surfaces: tuple, whole: tuple, language: str) -> ToothDrawing:
    """A tooth in one state, numbering and language (`language` is the cache key: the translation itself follows
    the request's language): the same few states recur on every chart, so each is built once per process."""
    marks = dict(surfaces)
    tooth_label = teeth.label(fdi, numbering)
    summary = _summary_of(fdi, numbering, surfaces, whole, language)
    svg = _tooth_svg(fdi, tuple(_surface_class(marks.get(letter)) for letter in SHAPES[fdi].surfaces), whole,
                     tooth_label)
    name = escape(summary)
    tail = Markup(f' data-tooth="{fdi}" aria-label="{name}"><title>{name}</title>{svg}</a>')
    return ToothDrawing(fdi, summary, bool(surfaces or whole), bool(dict(whole).get("missing")), tail)


@lru_cache(maxsize=8192)
def _tooth_svg(fdi: int, classes: tuple[str, ...], whole: tuple[tuple[str, str], ...], tooth_label: str) -> Markup:
    """One tooth's drawing inside its link (hit area, surfaces, whole-tooth marks, label): the same few states
    recur on every chart, so each is built once per process instead of by the template on every request."""
    s = SHAPES[fdi]
    x, y, root = s.x, s.y, s.root
    parts = [f'<rect x="{x - 2}" y="{y - 18}" width="44" height="76" class="hit"/>']
    parts += [f'<polygon points="{points}" class="{escape(cls)}"/>'
              for points, cls in zip(s.surfaces.values(), classes, strict=True)]
    for kind, state in whole:
        st = escape(state)
        if kind == "crown":
            parts.append(f'<rect x="{x - 1}" y="{y - 1}" width="42" height="42" rx="6" class="crown st-{st}"/>')
        elif kind == "missing":
            parts.append(f'<path d="M{x} {y}L{x + 40} {y + 40}M{x + 40} {y}L{x} {y + 40}" class="cross st-{st}"/>')
        elif kind == "root_canal":
            parts.append(f'<line x1="{root[0]}" y1="{root[1]}" x2="{root[2]}" y2="{root[3]}" class="canal st-{st}"/>')
        elif kind == "implant":
            parts.append(f'<rect x="{root[0] - 4}" y="{root[1]}" width="8" height="14" class="implant st-{st}"/>')
        elif kind == "bridge":
            parts.append(f'<line x1="{x - 2}" y1="{y + 20}" x2="{x + 42}" y2="{y + 20}" class="bridge st-{st}"/>')
        elif kind == "fracture":
            parts.append(f'<path d="M{x + 6} {y + 4}l10 12-8 8 12 12" class="fracture st-{st}"/>')
    parts.append(f'<text x="{x + 20}" y="{s.label_y}" class="tooth-label">{escape(tooth_label)}</text>')
    return Markup("".join(parts))


def _surface_class(found: tuple[str, str] | None) -> str:
    if found is None:
        return "sf"
    kind, state = found
    return f"sf k-{kind} st-{state}"


def _summary(fdi: int, numbering: str, state: dict) -> str:
    return _summary_of(fdi, numbering, tuple(state["surfaces"].items()), tuple(state["whole"].items()),
                       i18n.current())


@lru_cache(maxsize=8192)
def _summary_of(fdi: int, numbering: str, surfaces: tuple, whole: tuple, language: str) -> str:
    """A tooth's readable summary, kept per state and language (`language` is the cache key: the translation
    itself follows the request's language), like its drawing: the same few states recur on every chart."""
    parts = []
    by_finding: dict[tuple[str, str], str] = {}
    for letter, key in surfaces:
        by_finding[key] = by_finding.get(key, "") + letter
    for (kind, st), letters in by_finding.items():
        surfaces = teeth.surface_label(fdi, teeth.normalise_surfaces(letters))
        parts.append(f"{label(kind, 'finding_kind')} {surfaces} ({label(st, 'finding_state').lower()})")
    parts += [f"{label(kind, 'finding_kind')} ({label(st, 'finding_state').lower()})" for kind, st in whole]
    tooth = teeth.label(fdi, numbering)
    if not parts:
        return gettext("Tooth %(tooth)s: no findings", tooth=tooth)
    return gettext("Tooth %(tooth)s: %(findings)s", tooth=tooth, findings="; ".join(parts))
