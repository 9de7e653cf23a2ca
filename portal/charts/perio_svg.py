"""Geometry of the perio comparison chart (SVG drawn on the server): probing depth per site as bars, one bar per
exam oldest to newest, and the sites of the newest exam that are worse or better than in the exam before marked.

Four panels as the clinician looks at the patient: upper buccal, upper palatal, lower lingual, lower buccal; the
patient's right on the left. Bars hang from the gingival line, so deeper pockets reach further down.
"""

from dataclasses import dataclass

from portal.charts import teeth
from portal.charts.perio_classification import CHANGE_MM

TOOTH_W = 48
SITE_W = 16
LEFT = 100
SCALE = 5  # px per mm
SHOWN_MM = 12  # deeper pockets are clipped at the panel's foot (their value is in the bar's title)
PANEL_H = 100
TOP = 24
WIDTH = LEFT + 16 * TOOTH_W + 10
HEIGHT = 4 * PANEL_H + 10
PANELS = (  # (key, teeth left to right, sites left to right for the patient's right half, and for the left half)
    ("upper_buccal", teeth.UPPER_RIGHT + teeth.UPPER_LEFT, (0, 1, 2), (2, 1, 0)),
    ("upper_lingual", teeth.UPPER_RIGHT + teeth.UPPER_LEFT, (3, 4, 5), (5, 4, 3)),
    ("lower_lingual", teeth.LOWER_RIGHT + teeth.LOWER_LEFT, (3, 4, 5), (5, 4, 3)),
    ("lower_buccal", teeth.LOWER_RIGHT + teeth.LOWER_LEFT, (0, 1, 2), (2, 1, 0)),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    exam: int  # 0 = oldest
    tooth: int
    site: int
    depth: int


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    change: str  # worse | better
    tooth: int
    site: int
    before: int
    after: int


def change(before: int | None, after: int | None) -> str:
    """'worse', 'better' or '' for one site between two exams (a change counts from CHANGE_MM)."""
    if before is None or after is None:
        return ""
    return "worse" if after - before >= CHANGE_MM else "better" if before - after >= CHANGE_MM else ""


def drawing(exams: list[dict], numbering: str = "fdi") -> dict:
    """Bars, marks, tooth labels and the 4 and 6 mm lines for exams (oldest first, each with `rows` by tooth)."""
    n = len(exams)
    panels, bars, marks, labels = [], [], [], []
    for p, (key, row_teeth, right_sites, left_sites) in enumerate(PANELS):
        gum = p * PANEL_H + TOP
        panels.append({"key": key, "y": gum, "line4": gum + 4 * SCALE, "line6": gum + 6 * SCALE})
        for col, tooth in enumerate(row_teeth):
            x0 = LEFT + col * TOOTH_W
            charted = any(tooth in e["rows"] for e in exams)
            labels.append({"x": x0 + TOOTH_W / 2, "y": gum - 6, "text": teeth.label(tooth, numbering),
                           "charted": charted})
            sites = right_sites if teeth.is_patient_right(tooth) else left_sites
            for s, site in enumerate(sites):
                depths = [(e["rows"].get(tooth) or {}).get("depths", [None] * 6)[site] for e in exams]
                width = SITE_W / max(n, 1)
                for i, depth in enumerate(depths):
                    if depth is not None:
                        bars.append(Bar(x=round(x0 + s * SITE_W + i * width + 0.5, 1), y=gum,
                                        w=round(max(width - 1, 1), 1), h=min(depth, SHOWN_MM) * SCALE, exam=i,
                                        tooth=tooth, site=site, depth=depth))
                kind = change(depths[-2], depths[-1]) if n >= 2 else ""
                if kind:
                    marks.append(Mark(x=x0 + s * SITE_W + SITE_W / 2, y=gum + SHOWN_MM * SCALE + 8, change=kind,
                                      tooth=tooth, site=site, before=depths[-2], after=depths[-1]))
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "panels": panels, "bars": bars, "marks": marks,
            "labels": labels, "exams": n}
