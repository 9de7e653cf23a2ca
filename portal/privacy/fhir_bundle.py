"""The export's FHIR R4 view: one Bundle (collection) built from the version 2 document and its files, beside it.

Built from the document rather than from the tables, so both say the same thing about the same records. Codes are
the clinic's own (procedure codes under `CLINIC_CODES`, finding kinds under `FINDING_CODES`); teeth use FHIR's
oral tooth code system (FDI numbers); no licensed code set is embedded.
"""

import base64
import re

from portal.privacy.perio_records import TOOTH_SYSTEM

CLINIC_CODES = "urn:chairside:procedure-code"  # the clinic's fee schedule codes, as the clinic wrote them
FINDING_CODES = "urn:chairside:finding-kind"
PATIENT_NUMBER = "urn:chairside:patient-id"
CONDITIONS = {"caries", "fracture", "missing"}  # findings that are a state of disease or loss; the rest are work done
# Our statuses mapped to FHIR R4's value sets (AppointmentStatus, CarePlan and activity status): FHIR's vocabulary,
# not a list of ours (tests/test_scheduling.py lets this module spell them).
APPOINTMENT_STATUS = {"booked": "booked", "confirmed": "booked", "arrived": "arrived", "in_chair": "checked-in",
                      "completed": "fulfilled", "no_show": "noshow", "cancelled": "cancelled"}
PLAN_STATUS = {"proposed": "draft", "accepted": "active", "in_progress": "active", "completed": "completed",
               "declined": "revoked"}
ACTIVITY_STATUS = {"planned": "not-started", "completed": "completed", "declined": "cancelled"}
GENDER = {"female": "female", "male": "male", "other": "other"}
SIGNATURE = {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1", "display": "Author's Signature"}
PATIENT = {"reference": "Patient/patient"}


def _key(ref: str) -> str:
    """A FHIR id from a record's ref ("clinical_notes/7" -> "clinical-notes-7")."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", ref)[:64]


def _tooth(number: int | None) -> list[dict]:
    return [{"coding": [{"system": TOOTH_SYSTEM, "code": str(number)}], "text": f"tooth {number}"}] if number else []


def _records(document: dict, name: str) -> list[dict]:
    return document["categories"].get(name, {}).get("records", [])


def _lines(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n;,]", text or "") if part.strip()]


def _patient(document: dict) -> dict:
    [person] = _records(document, "identity") or [{}]
    [contact] = _records(document, "contact") or [{}]
    telecom = [{"system": "email", "value": contact["email"]}] if contact.get("email") else []
    telecom += [{"system": "phone", "value": contact[f], "use": "mobile" if f == "phone_mobile" else "home"}
                for f in ("phone_mobile", "phone_other") if contact.get(f)]
    return {"resourceType": "Patient", "id": "patient",
            "identifier": [{"system": PATIENT_NUMBER, "value": str(document["patient_id"]),
                            "assigner": {"display": document["controller"]["name"]}}],
            "name": [{"family": person.get("family_name", ""), "given": [person.get("given_name", "")]}],
            "gender": GENDER.get(person.get("gender") or "", "unknown"),
            **({"birthDate": person["date_of_birth"]} if person.get("date_of_birth") else {}),
            **({"telecom": telecom} if telecom else {}),
            **({"address": [{"text": contact["address"]}]} if contact.get("address") else {}),
            **({"communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47",
                                                            "code": contact["preferred_language"]}]}}]}
               if contact.get("preferred_language") else {})}


def _guardian(record: dict) -> dict:
    telecom = [{"system": s, "value": record[f]} for s, f in (("email", "email"), ("phone", "phone")) if record.get(f)]
    return {"resourceType": "RelatedPerson", "id": _key(record["ref"]), "patient": PATIENT,
            "name": [{"text": record["name"]}], "relationship": [{"text": record["relationship"]}],
            **({"telecom": telecom} if telecom else {})}


def _appointment(record: dict) -> dict:
    return {"resourceType": "Appointment", "id": _key(record["ref"]),
            "status": APPOINTMENT_STATUS[record["status"]], "serviceType": [{"text": record["type"]}],
            "start": record["starts_at"], "end": record["ends_at"],
            **({"comment": record["notes"]} if record.get("notes") else {}),
            **({"cancelationReason": {"text": record["cancel_reason"]}} if record.get("cancel_reason") else {}),
            "participant": [{"actor": PATIENT, "status": "accepted"},
                            {"actor": {"display": record["provider"]}, "status": "accepted"}]}


def _finding(record: dict) -> dict:
    code = {"coding": [{"system": FINDING_CODES, "code": record["kind"]}], "text": record["kind"].replace("_", " ")}
    common = {"id": _key(record["ref"]), "code": code, "subject": PATIENT,
              **({"note": [{"text": record["note"]}]} if record.get("note") else {})}
    if record["kind"] in CONDITIONS:
        return {"resourceType": "Condition", **common, "bodySite": _tooth(record["tooth"]),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "active" if record["state"] != "completed" else "resolved"}]},
                "recordedDate": record["recorded_at"], "recorder": {"display": record["recorded_by_name"]},
                **({"extension": [_surfaces(record)]} if record.get("surfaces") else {})}
    return {"resourceType": "Observation", **common, "status": "final", "bodySite": _tooth(record["tooth"])[0],
            "effectiveDateTime": record["recorded_at"], "performer": [{"display": record["recorded_by_name"]}],
            "valueString": " ".join(part for part in (record["state"], record.get("material") or "",
                                                       record.get("surfaces") or "") if part)}


def _surfaces(record: dict) -> dict:
    return {"url": "urn:chairside:tooth-surfaces", "valueString": record["surfaces"]}


def _plans(document: dict, findings_by_item: dict[str, list[str]]) -> list[dict]:
    """A CarePlan per plan (its items as activities, with the findings they treat) and a Procedure per done item."""
    plans: dict[int, dict] = {}
    resources = []
    for item in _records(document, "treatment_plans"):
        code = {"coding": [{"system": CLINIC_CODES, "code": item["code"], "display": item["description"]}],
                "text": item["description"]}
        plan = plans.setdefault(item["plan_id"], {
            "resourceType": "CarePlan", "id": f"treatment-plans-plan-{item['plan_id']}",
            "status": PLAN_STATUS[item["plan_status"]], "intent": "plan", "title": item["plan_title"],
            "subject": PATIENT, "activity": []})
        reasons = [{"reference": ref} for ref in findings_by_item.get(item["ref"], [])]
        activity = {"detail": {"status": ACTIVITY_STATUS[item["status"]], "code": code,
                               **({"reasonReference": reasons} if reasons else {}),
                               "description": f"{item['fee']} {item['currency']}, phase {item['phase']}"}}
        if item["status"] == "completed":
            procedure = {"resourceType": "Procedure", "id": _key(item["ref"]), "status": "completed", "code": code,
                         "subject": PATIENT, "bodySite": _tooth(item["tooth"]),
                         "basedOn": [{"reference": f"CarePlan/{plan['id']}"}],
                         **({"performedDateTime": item["completed_at"]} if item.get("completed_at") else {}),
                         **({"reasonReference": reasons} if reasons else {})}
            resources.append(procedure)
            activity["outcomeReference"] = [{"reference": f"Procedure/{procedure['id']}"}]
        plan["activity"].append(activity)
    return list(plans.values()) + resources


def _note(record: dict, amended: set[int]) -> list[dict]:
    key = _key(record["ref"])
    author = {"display": " ".join(p for p in (record["author_name"], record.get("author_credentials") or "") if p)}
    document = {"resourceType": "DocumentReference", "id": key,
                "status": "superseded" if record["id"] in amended else "current", "docStatus": "final",
                "type": {"text": record["template"]}, "subject": PATIENT, "date": record["signed_at"],
                "author": [author],
                "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
                                            "data": base64.b64encode(record["body"].encode()).decode()}}],
                **({"relatesTo": [{"code": "appends", "target": {"reference": (
                    f"DocumentReference/clinical-notes-{record['amends']}")}}]} if record["amends"] else {}),
                **({"context": {"related": [{"reference": "Appointment/" + _key(record["appointment"])}]}}
                   if record.get("appointment") else {})}
    provenance = {"resourceType": "Provenance", "id": f"provenance-{key}",
                  "target": [{"reference": f"DocumentReference/{key}"}], "recorded": record["signed_at"],
                  "agent": [{"who": author, "type": {"text": record["author_role"]}}],
                  "signature": [{"type": [SIGNATURE], "when": record["signed_at"], "who": author,
                                 "sigFormat": "text/plain",
                                 "data": base64.b64encode(record["content_hash"].encode()).decode()}]}
    return [document, provenance]


def _history(document: dict) -> list[dict]:
    """Allergies and medicines of the latest medical history version, one resource per line written."""
    versions = _records(document, "medical_history")
    if not versions:
        return []
    latest = max(versions, key=lambda v: v["version"])
    allergies = [{"resourceType": "AllergyIntolerance", "id": f"allergy-{i}", "patient": PATIENT,
                  "code": {"text": text}, "recordedDate": latest["recorded_at"],
                  "clinicalStatus": {"coding": [{
                      "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                      "code": "active"}]}} for i, text in enumerate(_lines(latest["allergies"]), start=1)]
    medicines = [{"resourceType": "MedicationStatement", "id": f"medication-{i}", "status": "active",
                  "subject": PATIENT, "medicationCodeableConcept": {"text": text},
                  "dateAsserted": latest["recorded_at"]} for i, text in enumerate(_lines(latest["medications"]), 1)]
    return allergies + medicines


def _consent(record: dict) -> dict:
    return {"resourceType": "Consent", "id": _key(record["ref"]), "status": "active" if record["granted"] else
            "inactive", "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                              "code": "patient-privacy"}]},
            "category": [{"text": record["kind"]}], "patient": PATIENT, "dateTime": record["at"],
            "policyRule": {"text": "GDPR Art. 6(1)(a) and 7"},
            "provision": {"type": "permit" if record["granted"] else "deny"}}


def _audit(record: dict) -> dict:
    return {"resourceType": "AuditEvent", "id": _key(record["ref"]),
            "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110",
                     "display": "Patient Record"},
            "subtype": [{"system": "urn:chairside:audit-action", "code": record["action"]}],
            "recorded": record["at"], "outcomeDesc": record["what"],
            "agent": [{"who": {"display": record["actor_name"]}, "requestor": True,
                       **({"role": [{"text": record["role"]}]} if record.get("role") else {})}],
            "source": {"observer": {"display": "Chairside"}}, "entity": [{"what": PATIENT}]}


def _image(record: dict, data: bytes | None, content_type: str) -> list[dict]:
    key = _key(record["ref"])
    media = {"resourceType": "Media", "id": key, "status": "completed", "subject": PATIENT,
             "type": {"text": record["kind"]}, "createdDateTime": record["taken_on"],
             "bodySite": (_tooth(int(record["teeth"].split()[0])) or [{}])[0] if record.get("teeth") else None,
             **({"partOf": [{"reference": "Appointment/" + _key(record["visit"])}]} if record.get("visit") else {}),
             "content": {"contentType": content_type, "url": f"Binary/binary-{key}", "title": record["file"]},
             **({"note": [{"text": record["caption"]}]} if record.get("caption") else {})}
    if media["bodySite"] is None:
        media.pop("bodySite")
    if data is None:
        return [media]
    return [media, {"resourceType": "Binary", "id": f"binary-{key}", "contentType": content_type,
                    "data": base64.b64encode(data).decode()}]


def bundle(document: dict, files: dict[str, tuple[str, bytes]], extra: list[dict] = ()) -> dict:
    """The whole record as a FHIR R4 Bundle; `files` maps ZIP path -> (content type, bytes); `extra` are entries
    built elsewhere (the perio Observations)."""
    resources = [_patient(document)]
    resources += [_guardian(r) for r in _records(document, "guardians")]
    resources += [_appointment(r) for r in _records(document, "appointments")]
    findings = _records(document, "tooth_chart")
    resources += [_finding(r) for r in findings]
    by_item: dict[str, list[str]] = {}
    for finding in findings:
        if finding.get("plan_item"):
            kind = "Condition" if finding["kind"] in CONDITIONS else "Observation"
            by_item.setdefault(finding["plan_item"], []).append(f"{kind}/{_key(finding['ref'])}")
    resources += _plans(document, by_item)
    notes = _records(document, "clinical_notes")
    amended = {n["amends"] for n in notes if n["amends"]}
    for note in notes:
        resources += _note(note, amended)
    resources += _history(document)
    resources += [_consent(r) for r in _records(document, "consents")]
    resources += [_audit(r) for r in _records(document, "access_log")]
    for image in _records(document, "images"):
        content_type, data = files.get(f"files/images/{image['file']}", ("application/octet-stream", None))
        resources += _image(image, data, content_type)
    entries = [{"fullUrl": f"urn:chairside:{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": document["generated_at"],
            "identifier": {"system": PATIENT_NUMBER, "value": f"{document['patient_id']}-{document['generated_at']}"},
            "entry": entries + [{"fullUrl": f"urn:chairside:Observation/{e['resource']['id']}",
                                 "resource": {**e["resource"], "subject": PATIENT}} for e in extra]}
