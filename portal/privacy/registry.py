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


CATEGORIES: dict[str, DataCategory] = {}


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
