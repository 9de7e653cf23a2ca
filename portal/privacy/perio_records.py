"""Perio charts in the privacy registry: one row per probed site of every exam (plain rows in the export, and FHIR R4
Observations with tooth and site in the ZIP), isolated when an erasure is approved and erased by the retention engine
like the rest of the chart."""

import json

from portal.charts.perio_classification import SITES, attachment
from portal.i18n import lazy_gettext
from portal.privacy.categories import ACCESS_WORDS, CARE, allow_erasure
from portal.privacy.registry import DataCategory, ExportFile, plain_rows, register
from portal.tables import PerioExam, PerioTooth

PERIO_FIELDS = {
    "exam_id": lazy_gettext("Exam id"),
    "exam_started": lazy_gettext("When the exam was started"),
    "signed_at": lazy_gettext("When it was signed (empty: draft)"),
    "signed_by_name": lazy_gettext("Who signed it"),
    "signed_by_role": lazy_gettext("Their role"),
    "signed_by_credentials": lazy_gettext("Their registration"),
    "content_hash": lazy_gettext("SHA-256 of what was signed"),
    "teeth_present": lazy_gettext("Teeth present at the exam (FDI)"),
    "stage": lazy_gettext("Stage confirmed (2017 AAP/EFP; none = no periodontitis)"),
    "grade": lazy_gettext("Grade confirmed"),
    "tooth": lazy_gettext("Tooth, FDI numbering (ISO 3950)"),
    "site": lazy_gettext("Site: DB, B, MB (buccal, distal to mesial), DL, L, ML (lingual)"),
    "depth": lazy_gettext("Probing depth (mm)"),
    "margin": lazy_gettext("Gingival margin to the enamel junction (mm, recession negative)"),
    "attachment": lazy_gettext("Clinical attachment level (mm, depth minus margin)"),
    "bleeding": lazy_gettext("Bleeding on probing"),
    "suppuration": lazy_gettext("Suppuration"),
    "plaque": lazy_gettext("Plaque"),
    "calculus": lazy_gettext("Calculus"),
    "mobility": lazy_gettext("Tooth mobility (0-3)"),
    "furcation": lazy_gettext("Furcation (0 none, 1-3 class)"),
}

# The access log ("who accessed your record") in words for the perio audit codes.
ACCESS_WORDS.update(
    {
        "perio_exam.started": lazy_gettext("Started a gum (perio) exam"),
        "perio_tooth.saved": lazy_gettext("Charted a tooth's gums"),
        "perio_exam.signed": lazy_gettext("Signed a gum (perio) exam"),
        "perio_exam.viewed": lazy_gettext("Opened a gum (perio) exam"),
        "perio_summary.viewed": lazy_gettext("Saw the summary of a gum (perio) exam"),
        "perio_exams.viewed": lazy_gettext("Saw the list of your gum (perio) exams"),
        "perio_exams.compared": lazy_gettext("Compared your gum (perio) exams"),
    }
)


async def _perio(patient_id: int) -> list[dict]:
    exams = {e["id"]: e for e in await PerioExam.select().where(PerioExam.patient == patient_id)}
    if not exams:
        return []
    rows = []
    for tooth in (
        await PerioTooth.select().where(PerioTooth.exam.is_in(list(exams))).order_by(PerioTooth.exam, PerioTooth.id)
    ):
        exam = exams[tooth["exam"]]
        for i, site in enumerate(SITES):
            if tooth["depths"][i] is None and not any(tooth[f][i] for f in ("bleeding", "plaque")):
                continue
            rows.append(
                {
                    "exam_id": exam["id"],
                    "exam_started": exam["created_at"],
                    "signed_at": exam["signed_at"],
                    "signed_by_name": exam["signed_by_name"],
                    "signed_by_role": exam["signed_by_role"],
                    "signed_by_credentials": exam["signed_by_credentials"],
                    "content_hash": exam["content_hash"],
                    "teeth_present": " ".join(str(t) for t in sorted(exam["teeth"])),
                    "stage": exam["stage"],
                    "grade": exam["grade"],
                    "tooth": tooth["tooth"],
                    "site": site,
                    "depth": tooth["depths"][i],
                    "margin": tooth["margins"][i],
                    "attachment": attachment(tooth["depths"][i], tooth["margins"][i]),
                    **{flag: tooth[flag][i] for flag in ("bleeding", "suppuration", "plaque", "calculus")},
                    "mobility": tooth["mobility"],
                    "furcation": tooth["furcation"],
                }
            )
    return plain_rows(rows, PERIO_FIELDS)


TOOTH_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-tooth"  # FHIR's oral tooth codes: FDI (ISO 3950) numbers
UCUM = "http://unitsofmeasure.org"
SITE_WORDS = {
    "DB": "distobuccal",
    "B": "buccal",
    "MB": "mesiobuccal",
    "DL": "distolingual",
    "L": "lingual",
    "ML": "mesiolingual",
}


def _mm(text: str, value: int | None) -> dict:
    return {"code": {"text": text}, "valueQuantity": {"value": value, "unit": "mm", "system": UCUM, "code": "mm"}}


def _flag(text: str, value: bool) -> dict:
    return {"code": {"text": text}, "valueBoolean": bool(value)}


def observations(patient_id: int, exams: dict[int, dict], teeth: list[dict]) -> dict:
    """A FHIR R4 Bundle (collection) of Observations: one per probed site with tooth and site, one per tooth for
    mobility and furcation, one per signed exam for the confirmed stage and grade."""
    entries = []

    def observation(key: str, exam: dict, code: str, **fields) -> None:
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": key,
                    "status": "final" if exam["signed_at"] else "preliminary",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "exam",
                                    "display": "Exam",
                                }
                            ]
                        }
                    ],
                    "code": {"text": code},
                    "subject": {"reference": f"Patient/{patient_id}"},
                    "effectiveDateTime": exam["created_at"].isoformat(),
                    **(
                        {"issued": exam["signed_at"].isoformat(), "performer": [{"display": exam["signed_by_name"]}]}
                        if exam["signed_at"]
                        else {}
                    ),
                    **fields,
                }
            }
        )

    for exam in exams.values():
        if exam["stage"]:
            observation(
                f"perio-{exam['id']}-diagnosis",
                exam,
                "Periodontitis stage and grade (2017 AAP/EFP)",
                valueString=exam["stage"] + (f", grade {exam['grade']}" if exam["grade"] else ""),
            )
    for tooth in teeth:
        exam, number = exams[tooth["exam"]], tooth["tooth"]
        body = {"coding": [{"system": TOOTH_SYSTEM, "code": str(number)}]}
        observation(
            f"perio-{exam['id']}-{number}",
            exam,
            "Tooth mobility and furcation",
            bodySite={**body, "text": f"tooth {number}"},
            component=[
                {"code": {"text": "Mobility (0-3)"}, "valueInteger": tooth["mobility"]},
                {"code": {"text": "Furcation class (0 none)"}, "valueInteger": tooth["furcation"]},
            ],
        )
        for i, site in enumerate(SITES):
            depth, margin = tooth["depths"][i], tooth["margins"][i]
            if depth is None:
                continue
            observation(
                f"perio-{exam['id']}-{number}-{site}",
                exam,
                "Periodontal probing",
                bodySite={**body, "text": f"tooth {number} {SITE_WORDS[site]} ({site})"},
                component=[
                    _mm("Probing depth", depth),
                    _mm("Gingival margin (recession negative)", margin),
                    _mm("Clinical attachment level", attachment(depth, margin)),
                    _flag("Bleeding on probing", tooth["bleeding"][i]),
                    _flag("Suppuration", tooth["suppuration"][i]),
                    _flag("Plaque", tooth["plaque"][i]),
                    _flag("Calculus", tooth["calculus"][i]),
                ],
            )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _perio_files(patient_id: int) -> list[ExportFile]:
    exams = {e["id"]: e for e in await PerioExam.select().where(PerioExam.patient == patient_id)}
    if not exams:
        return []
    teeth = await PerioTooth.select().where(PerioTooth.exam.is_in(list(exams))).order_by(PerioTooth.exam, PerioTooth.id)
    bundle = observations(patient_id, exams, teeth)
    return [
        ExportFile(
            "perio-observations.fhir.json",
            "application/fhir+json",
            json.dumps(bundle, indent=1, ensure_ascii=False).encode(),
        )
    ]


async def _erase_perio(patient_id: int) -> int:
    await allow_erasure()  # signed exams are immutable by trigger; erasure and retention may remove them
    exams = [e["id"] for e in await PerioExam.select(PerioExam.id).where(PerioExam.patient == patient_id)]
    if not exams:
        return 0
    await PerioTooth.delete().where(PerioTooth.exam.is_in(exams))
    return len(await PerioExam.delete().where(PerioExam.id.is_in(exams)).returning(PerioExam.id))


register(
    DataCategory(
        name="perio_charts",
        title=lazy_gettext("Gum (perio) charts"),
        order=52,
        retention="clinical",
        basis="end_of_treatment",
        purpose=lazy_gettext("The health of the gums, measured around each tooth, and the diagnosis made from it."),
        legal_basis=CARE,
        recipients=("hosting",),
        fields=PERIO_FIELDS,
        types={"teeth_present": {"type": "string", "pattern": "^([1-8][1-8]( [1-8][1-8])*)?$"}},
        collect=_perio,
        erase=_erase_perio,
        files=_perio_files,
    )
)
