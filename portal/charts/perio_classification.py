"""Perio figures computed from the sites (never stored): attachment level, the exam summary, and the suggested
2017 AAP/EFP stage and grade that the clinician confirms when signing.

Sites are stored per tooth in the order of `SITES`; a tooth row is a dict with `depths`, `margins` (gingival margin
to the CEJ, recession negative), the four flag lists, `mobility` and `furcation`. Clinical attachment level is
probing depth minus gingival margin (PD 3 with 2 mm recession, GM -2, is CAL 5).
"""

from dataclasses import dataclass, field

from portal import display
from portal.charts import teeth
from portal.i18n import _, lazy_gettext

SITES = ("DB", "B", "MB", "DL", "L", "ML")
INTERDENTAL = (0, 2, 3, 5)
BUCCAL, LINGUAL = (0, 1, 2), (3, 4, 5)
STAGES = ("none", "I", "II", "III", "IV")
GRADES = ("A", "B", "C")
display.register_labels("perio_stage", {"none": lazy_gettext("No periodontitis"), "I": lazy_gettext("Stage I"),
                                        "II": lazy_gettext("Stage II"), "III": lazy_gettext("Stage III"),
                                        "IV": lazy_gettext("Stage IV"), "": lazy_gettext("Not classified")})
display.register_labels("perio_grade", {"A": lazy_gettext("Grade A (slow)"), "B": lazy_gettext("Grade B (moderate)"),
                                        "C": lazy_gettext("Grade C (rapid)"), "": ""})
display.register_labels("perio_site", {"DB": lazy_gettext("distobuccal"), "B": lazy_gettext("buccal"),
                                       "MB": lazy_gettext("mesiobuccal"), "DL": lazy_gettext("distolingual"),
                                       "L": lazy_gettext("lingual"), "ML": lazy_gettext("mesiolingual")})
CHANGE_MM = 2  # a change in depth or attachment counts from 2 mm (probing repeats within about 1 mm)
UPPER_ARCH = teeth.UPPER_RIGHT + teeth.UPPER_LEFT
LOWER_ARCH = teeth.LOWER_RIGHT + teeth.LOWER_LEFT


def attachment(depth: int | None, margin: int | None) -> int | None:
    """Clinical attachment level at one site, or None where the site was not probed."""
    return None if depth is None else depth - (margin or 0)


def detectable_loss(depth: int | None, margin: int | None) -> int:
    """Attachment loss as the 2017 case definition counts it: detectable. With the margin at or above the enamel
    junction and a sulcus of 3 mm or less the junction is not reached by the probe, so no loss is counted (a healthy
    mouth charted with margins of 0 is not a periodontitis case)."""
    if depth is None or ((margin or 0) >= 0 and depth <= 3):
        return 0
    return max(depth - (margin or 0), 0)


def multi_rooted(tooth: int) -> bool:
    """Teeth with a furcation: molars and the upper first premolars."""
    return tooth % 10 >= 6 or tooth in (14, 24)


def adjacent(a: int, b: int) -> bool:
    for arch in (UPPER_ARCH, LOWER_ARCH):
        if a in arch and b in arch:
            return abs(arch.index(a) - arch.index(b)) == 1
    return False


@dataclass(frozen=True)
class Summary:
    sites: int
    bleeding_percent: int
    plaque_percent: int
    sites_4mm: int
    sites_6mm: int
    deepest: int
    teeth_charted: int


def summarise(rows: dict[int, dict]) -> Summary:
    """BOP and plaque as a share of the probed sites, and how many sites reach 4 and 6 mm."""
    probed = [(row, i) for row in rows.values() for i in range(6) if row["depths"][i] is not None]
    n = len(probed)

    def share(flag: str) -> int:
        return round(100 * sum(1 for row, i in probed if row[flag][i]) / n) if n else 0

    depths = [row["depths"][i] for row, i in probed]
    return Summary(sites=n, bleeding_percent=share("bleeding"), plaque_percent=share("plaque"),
                   sites_4mm=sum(1 for d in depths if d >= 4), sites_6mm=sum(1 for d in depths if d >= 6),
                   deepest=max(depths, default=0),
                   teeth_charted=sum(1 for row in rows.values() if any(d is not None for d in row["depths"])))


@dataclass(frozen=True)
class Suggestion:
    stage: str  # one of STAGES
    grade: str  # one of GRADES, '' when there is no periodontitis
    reasons: list[str] = field(default_factory=list)


def _max_cal(row: dict, sites) -> int:
    return max((detectable_loss(row["depths"][i], row["margins"][i]) for i in sites), default=0)


def is_periodontitis_case(rows: dict[int, dict]) -> bool:
    """2017 case definition: interdental CAL at two or more non-adjacent teeth, or buccal/oral CAL of 3 mm or
    more with pocketing over 3 mm at two or more teeth."""
    interdental = [t for t, row in rows.items() if _max_cal(row, INTERDENTAL) >= 1]
    if any(not adjacent(a, b) for i, a in enumerate(interdental) for b in interdental[i + 1:]):
        return True
    facial = [t for t, row in rows.items()
              if any(row["depths"][i] is not None and row["depths"][i] > 3
                     and detectable_loss(row["depths"][i], row["margins"][i]) >= 3 for i in BUCCAL + LINGUAL)]
    return len(facial) >= 2


def progression(rows: dict[int, dict], earlier: dict[int, dict]) -> int:
    """The largest loss of attachment at any site probed in both exams (mm; 0 or less is no loss)."""
    losses = [attachment(row["depths"][i], row["margins"][i]) - attachment(old["depths"][i], old["margins"][i])
              for tooth, row in rows.items() if (old := earlier.get(tooth)) for i in range(6)
              if row["depths"][i] is not None and old["depths"][i] is not None]
    return max(losses, default=0)


def suggest(rows: dict[int, dict], teeth_present: int, earlier: dict[int, dict] | None = None,
            years_between: float = 0.0, smoker: bool = False, diabetic: bool = False) -> Suggestion:
    """The stage from the worst interdental attachment loss, raised by complexity (depth, furcation, mobility,
    teeth left); the grade from progression since an earlier exam, else B, with the risk factors the record knows.

    Radiographic bone loss and teeth lost to periodontitis are not in the chart: the reasons say what to check."""
    if not is_periodontitis_case(rows):
        return Suggestion("none", "", [_("No periodontitis by the 2017 case definition: attachment loss is not "
                                         "found at two non-adjacent teeth.")])
    worst = max((_max_cal(row, INTERDENTAL) for row in rows.values()), default=0)
    stage = 1 if worst <= 2 else 2 if worst <= 4 else 3
    reasons = [_("Worst interdental attachment loss %(mm)s mm: stage %(stage)s.", mm=worst, stage=STAGES[stage])]
    deepest = max((d for row in rows.values() for d in row["depths"] if d is not None), default=0)
    if deepest >= 6 and stage < 3:
        stage = 3
        reasons.append(_("Probing depth of %(mm)s mm: at least stage III.", mm=deepest))
    elif deepest == 5 and stage < 2:
        stage = 2
        reasons.append(_("Probing depth of 5 mm: at least stage II."))
    if any(row["furcation"] >= 2 for row in rows.values()) and stage < 3:
        stage = 3
        reasons.append(_("Furcation involvement class II or III: at least stage III."))
    if stage == 3:
        if any(row["mobility"] >= 2 for row in rows.values()):
            stage = 4
            reasons.append(_("Tooth mobility of degree 2 or more: stage IV."))
        elif teeth_present < 20:
            stage = 4
            reasons.append(_("Fewer than 20 teeth remain: stage IV."))
        else:
            reasons.append(_("Stage IV if five or more teeth were lost to periodontitis."))
    grade, earned = "B", False
    if earlier is not None and years_between >= 1:
        loss = progression(rows, earlier)
        per_five_years = loss * 5 / years_between
        if per_five_years >= CHANGE_MM:
            grade, earned = "C", True
            reasons.append(_("%(mm)s mm attachment lost in %(years)s years: grade C.", mm=loss,
                             years=round(years_between, 1)))
        elif loss <= 0 and years_between >= 5:
            grade, earned = "A", True
            reasons.append(_("No attachment lost in %(years)s years: grade A.", years=round(years_between, 1)))
    if not earned:
        reasons.append(_("No earlier exam to measure progression: grade B until bone loss for the age is checked "
                         "on radiographs."))
    if grade == "A" and (smoker or diabetic):
        grade = "B"
    if smoker:
        reasons.append(_("Smoker: grade C from 10 cigarettes a day."))
    if diabetic:
        reasons.append(_("Diabetes: grade C from an HbA1c of 53 mmol/mol or more."))
    return Suggestion(STAGES[stage], grade, reasons)
