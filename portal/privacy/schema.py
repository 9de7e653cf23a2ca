"""The published, versioned JSON Schema (draft 2020-12) of the export document, generated from the registry."""

from portal.privacy.registry import all_categories

SCHEMA_VERSION = "2.1"  # 2.1: signed by the clinic that made it; forms and perio exams carry what an import needs
# The schema's identity: the same for every installation and never the host a request came in on.
SCHEMA_ID = "urn:chairside:schema:patient-export:2"
SCALAR = ["string", "number", "integer", "boolean", "null"]
REF = {"type": "string", "pattern": "^[a-z_]+/([0-9]+|sha256-[0-9a-f]{16})$",
       "description": "The record's stable id: <category>/<id> for records with an id, else <category>/sha256-<first "
                      "16 hex digits of the record's canonical JSON>. References between records use it."}


SIGNATURE = {
    "type": "object", "required": ["algorithm", "key_id", "public_key", "value"], "additionalProperties": False,
    "description": "The clinic's Ed25519 signature of the RFC 8785 canonical JSON of this document without "
                   "`signature` (it covers every file through `files`). Compare the public key's fingerprint (SHA-256 "
                   "of its 32 bytes) with the one the clinic publishes at `controller.export_keys_url`.",
    "properties": {"algorithm": {"const": "Ed25519"}, "key_id": {"type": "string", "maxLength": 40},
                   "public_key": {"type": "string", "contentEncoding": "base64",
                                  "description": "The raw 32-byte public key, base64"},
                   "value": {"type": "string", "contentEncoding": "base64",
                             "description": "The 64-byte signature, base64"}}}


def record_schema(category) -> dict:
    """One record of a category: exactly its fields, each typed as the category declares (any scalar else)."""
    return {"type": "object", "additionalProperties": False, "required": ["ref", *category.fields],
            "properties": {"ref": {**REF, "pattern": f"^{category.name}/([0-9]+|sha256-[0-9a-f]{{16}})$"},
                           **{name: {"type": SCALAR, **category.types.get(name, {}), "description": str(text)}
                              for name, text in category.fields.items()}}}


def json_schema() -> dict:
    categories = all_categories()
    defs = {}
    for category in categories:
        defs[category.name] = {
            "type": "object", "title": str(category.title), "description": str(category.purpose),
            "required": ["title", "purpose", "legal_basis", "recipients", "retention", "erasable_on", "erasable",
                         "records"],
            "properties": {
                "title": {"type": "string"}, "purpose": {"type": "string"}, "legal_basis": {"type": "string"},
                "recipients": {"type": "array", "items": {"type": "string"},
                               "description": "Processors (or kinds of processor) that receive this data"},
                "retention": {"enum": ["clinical", "administrative", "accountability", "financial"],
                              "description": "clinical: kept under a legal duty; administrative: erasable on "
                                             "request; accountability: kept to prove compliance; "
                                             "financial: invoices and payments kept under tax law"},
                "erasable_on": {"type": ["string", "null"], "format": "date",
                                "description": "The day it may be erased, null when erasable on request or "
                                               "when no retention rule is confirmed"},
                "erasable": {"type": "string", "description": "How the date was worked out, in words"},
                "withheld_until": {"type": "string", "format": "date-time",
                                   "description": "Only while a change of contact details is cooling off: the "
                                                  "health record's records are held back (empty) until then"},
                "records": {"type": "array", "items": record_schema(category)},
            },
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Chairside patient data export, version {SCHEMA_VERSION}",
        "description": "Everything a clinic holds about one patient, grouped by category. Dates and times are "
                       "ISO 8601 (times in UTC). A system importing this file reads `categories.<name>.records`; "
                       "unknown categories may be added in later minor versions and should be kept as they are. "
                       "Every record has a stable `ref`; fields named in the schema as references hold another "
                       "record's `ref` (a note's visit, a finding's planned procedure, an image's visit). `files` "
                       "lists every file of the ZIP with its SHA-256.",
        "type": "object",
        "required": ["format", "version", "generated_at", "controller", "patient_id", "categories", "files",
                     "signature"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": "chairside-patient-export"},
            "version": {"const": SCHEMA_VERSION},
            "generated_at": {"type": "string", "format": "date-time"},
            "controller": {"type": "object", "required": ["name", "country", "privacy_email"],
                           "properties": {"name": {"type": "string"}, "country": {"type": "string"},
                                          "privacy_email": {"type": "string"}, "address": {"type": "string"},
                                          "export_keys_url": {"type": "string", "format": "uri",
                                                              "description": "Where the clinic publishes the "
                                                                             "public keys it signs exports with"}}},
            "patient_id": {"type": "integer", "description": "The clinic's own number for the patient"},
            "files": {"type": "object", "description": "Path in the ZIP -> SHA-256 (hex) of its bytes",
                      "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            "signature": SIGNATURE,
            "categories": {"type": "object", "required": [c.name for c in categories],
                           "properties": {c.name: {"$ref": f"#/$defs/{c.name}"} for c in categories},
                           "additionalProperties": {"type": "object"}},
        },
        "$defs": defs,
    }
