"""The register of patient data categories: what each holds, why, on what basis, who receives it, how long."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class ExportFile:
    """An original file for the export ZIP (e.g. an X-ray as taken)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class DataCategory:
    name: str  # stable key used in the export schema and in CSV file names
    title: str
    purpose: str
    legal_basis: str
    recipients: tuple[str, ...]  # processor kinds from the clinic's register (hosting, mail, sms, lab …)
    retention: str  # retention class: "clinical" (kept under a legal duty) | "administrative" | "accountability"
    # | "financial" (invoices and payments, kept under tax law)
    basis: str  # the date erasability counts from, a key of retention.BASES
    collect: Callable[[int], Awaitable[list[dict]]]
    erase: Callable[[int], Awaitable[int]]
    fields: dict[str, str] = field(default_factory=dict)  # column -> description (the export schema)
    files: Callable[[int], Awaitable[list[ExportFile]]] | None = None
    correctable: dict[str, str] = field(default_factory=dict)  # fields a patient may ask to correct -> label
    order: int = 50
    clinical: bool = False  # the health record: held back from the privacy centre during a contact cooling-off
    # Who on the staff may read this category's details in a privacy request: the chart's permission unless
    # the category says otherwise (the front desk reads demographics, not clinical data).
    read_permission: str = "read_clinical"
    # A JSON Schema per field where it is stricter than "any scalar" (types, enums, formats, references): the
    # export schema (portal/privacy/schema.py) publishes it and the import (portal/privacy/record_import.py) relies
    # on it. A field `id` is the record's stable id within its category; `<category>/<id>` refers to it.
    types: dict[str, dict] = field(default_factory=dict)


CATEGORIES: dict[str, DataCategory] = {}

# Field types for `DataCategory.types` (JSON Schema fragments).
ID = {"type": "integer", "minimum": 1}
TEXT = {"type": "string"}
WHEN = {"type": "string", "format": "date-time"}
MAYBE_WHEN = {"type": ["string", "null"], "format": "date-time"}
DAY = {"type": "string", "format": "date"}
MAYBE_DAY = {"type": ["string", "null"], "format": "date"}
TOOTH = {"type": "integer", "minimum": 11, "maximum": 85}  # FDI (ISO 3950), permanent and deciduous
SURFACES = {"type": "string", "pattern": "^M?O?D?B?L?$"}


def one_of(values) -> dict:
    return {"enum": [str(v) for v in values]}


def reference(category: str, null: bool = True) -> dict:
    """A field that names a record of another category by its stable id, e.g. "appointments/12"."""
    return {"type": ["string", "null"] if null else "string", "pattern": f"^{category}/[0-9]+$"}


def register(category: DataCategory) -> DataCategory:
    """Add a category (or replace one with the same name, so re-imports are harmless)."""
    CATEGORIES[category.name] = category
    return category


def all_categories() -> list[DataCategory]:
    return sorted(CATEGORIES.values(), key=lambda c: (c.order, c.name))


def plain(value):
    """A value as JSON and CSV can hold it: dates as ISO 8601, decimals as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    return value


def plain_rows(rows: list[dict], fields: dict[str, str]) -> list[dict]:
    return [{name: plain(row.get(name)) for name in fields} for row in rows]
