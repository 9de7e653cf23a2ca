"""Piccolo tables: storage only, no rules."""

from portal.tables.audit import AuditEntry
from portal.tables.clinic import Clinic
from portal.tables.patient import Guardian, Patient
from portal.tables.staff import LoginAttempt, Staff, WebSession

ALL_TABLES = (Clinic, Staff, WebSession, LoginAttempt, Patient, Guardian, AuditEntry)

__all__ = ["ALL_TABLES", "AuditEntry", "Clinic", "Guardian", "LoginAttempt", "Patient", "Staff", "WebSession"]
