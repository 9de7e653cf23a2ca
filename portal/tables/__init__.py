"""Piccolo tables: storage only, no rules."""

from portal.tables.appointment import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    Chair,
    Closure,
    IcalToken,
    OpeningHours,
    ProviderAbsence,
    ProviderHours,
)
from portal.tables.audit import AuditEntry
from portal.tables.clinic import Clinic
from portal.tables.consent import ConsentEvent
from portal.tables.jobs import JobError, JobRun, StaffToken
from portal.tables.messaging import ConversationMessage, Lead
from portal.tables.outbox import OutboxMessage
from portal.tables.patient import Guardian, Patient
from portal.tables.staff import LoginAttempt, Staff, WebSession

ALL_TABLES = (Clinic, Staff, WebSession, LoginAttempt, Patient, Guardian, AuditEntry, Chair, AppointmentType,
              OpeningHours, Closure, ProviderHours, ProviderAbsence, Appointment, AppointmentChange, IcalToken,
              OutboxMessage, ConsentEvent, JobRun, JobError, StaffToken, Lead, ConversationMessage)

__all__ = ["ALL_TABLES", "Appointment", "AppointmentChange", "AppointmentType", "AuditEntry", "Chair", "Closure", "ConsentEvent", "IcalToken",
           "OpeningHours", "ProviderAbsence", "ProviderHours", "Clinic", "Guardian", "LoginAttempt", "OutboxMessage", "Patient", "Staff", "WebSession",
           "JobRun", "JobError", "StaffToken", "Lead", "ConversationMessage"]
