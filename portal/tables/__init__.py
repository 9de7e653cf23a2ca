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
from portal.tables.audit import AuditChainPurge, AuditEntry
from portal.tables.chart import (
    ClinicalNote,
    MedicalAlert,
    MedicalHistory,
    PlanAcceptance,
    PlanItem,
    ProcedureCode,
    ToothFinding,
    TreatmentPlan,
)
from portal.tables.clinic import Clinic
from portal.tables.consent import ConsentEvent
from portal.tables.imaging import PatientImage, PatientImageBlob
from portal.tables.jobs import JobError, JobRun, StaffToken
from portal.tables.messaging import ConversationMessage, Lead
from portal.tables.outbox import OutboxMessage
from portal.tables.patient import Guardian, Patient
from portal.tables.privacy import (
    DataExport,
    PatientSession,
    PatientSignInLink,
    PrivacyNotice,
    PrivacyRequest,
    Processor,
    RetentionRule,
)
from portal.tables.staff import LoginAttempt, Staff, WebSession

ALL_TABLES = (Clinic, Staff, WebSession, LoginAttempt, Patient, Guardian, AuditEntry, Chair, AppointmentType,
              OpeningHours, Closure, ProviderHours, ProviderAbsence, Appointment, AppointmentChange, IcalToken,
              OutboxMessage, ConsentEvent, MedicalHistory, MedicalAlert, ToothFinding, ProcedureCode,
              TreatmentPlan, PlanItem, PlanAcceptance, ClinicalNote, PatientImage, PatientImageBlob,
              PatientSignInLink, PatientSession, PrivacyRequest, DataExport, Processor, PrivacyNotice, RetentionRule,
              JobRun, JobError, StaffToken, Lead, ConversationMessage, AuditChainPurge)

__all__ = ["ALL_TABLES", "ClinicalNote", "MedicalAlert", "MedicalHistory", "PlanAcceptance", "PlanItem",
           "ProcedureCode", "ToothFinding", "TreatmentPlan", "Appointment", "AppointmentChange", "AppointmentType",
           "AuditEntry", "Chair", "Closure", "ConsentEvent", "IcalToken", "OpeningHours", "ProviderAbsence",
           "ProviderHours", "Clinic", "Guardian", "LoginAttempt", "OutboxMessage", "Patient", "PatientImage",
           "PatientImageBlob", "Staff", "WebSession", "DataExport", "PatientSession", "PatientSignInLink",
           "PrivacyNotice", "PrivacyRequest", "Processor", "RetentionRule", "JobRun", "JobError", "StaffToken",
           "Lead", "ConversationMessage", "AuditChainPurge"]
