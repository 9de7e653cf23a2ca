"""Piccolo tables: storage only, no rules."""
# ruff: noqa: F401  (re-exports: __all__ below is derived from these imports)

from piccolo.table import Table

from portal.tables.appointment import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    CalendarVersion,
    Chair,
    Closure,
    IcalToken,
    OpeningHours,
    ProviderAbsence,
    ProviderHours,
)
from portal.tables.audit import AuditChainPurge, AuditEntry
from portal.tables.billing import (
    BillingAccount,
    BillingMember,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    LedgerEntry,
    OnlinePayment,
    PaymentAllocation,
    PaymentInstalment,
    PaymentPlan,
)
from portal.tables.calls import CallRecording, PhoneCall
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
from portal.tables.closing import ClinicClosure
from portal.tables.consent import ConsentEvent
from portal.tables.contact import ContactChange
from portal.tables.credentials import ClinicCredential
from portal.tables.family import Family, FamilyMember
from portal.tables.imaging import PatientImage, PatientImageBlob
from portal.tables.jobs import JobError, JobRun, StaffToken, WorkerHeartbeat
from portal.tables.lab import (
    AlignerBatch,
    AlignerRound,
    AlignerSeries,
    Disclosure,
    Lab,
    LabCase,
    LabCaseEvent,
    LabDownload,
    LabInvoice,
    Prescription,
    Referral,
    ReferralEvent,
)
from portal.tables.messaging import (
    ConversationAttachment,
    ConversationMessage,
    Lead,
    MetaDisconnection,
    MetaPage,
    MetaPageInsight,
)
from portal.tables.outbox import OutboxMessage
from portal.tables.patient import Guardian, Patient, PatientTally
from portal.tables.patient_forms import FormTemplate, SentForm
from portal.tables.payers import (
    Payer,
    PayerClaim,
    PayerClaimEvent,
    PayerClaimLine,
    PayerCoverage,
    PayerRate,
    PayerShare,
)
from portal.tables.perio import PerioExam, PerioTooth
from portal.tables.privacy import (
    Breach,
    BreachPatient,
    DataExport,
    PatientSession,
    PatientSignInLink,
    PrivacyNotice,
    PrivacyRequest,
    Processor,
    RecipientNotice,
    RetentionRule,
)
from portal.tables.recall import (
    BookingCode,
    BookingHold,
    OnlineBooking,
    OnlinePatient,
    PatientRecall,
    RecallContact,
    RecallType,
    WaitlistEntry,
    WaitlistFreed,
    WaitlistFreedSlot,
    WaitlistOffer,
)
from portal.tables.record_import import ExportSigningKey, ImportedRecord, ImportedVisit, ImportUpload, PatientImport
from portal.tables.staff import LoginAttempt, Staff, WebSession
from portal.tables.two_factor import StaffRecoveryCode, StaffTotp, StaffTrustedDevice, StaffTwoFactorReset

# Derived from the imports above (the one list, kept for readers and type checkers); a test checks that every
# Table class in this package is imported here.
ALL_TABLES = tuple(value for value in dict(globals()).values()
                   if isinstance(value, type) and issubclass(value, Table) and value.__module__.startswith(__name__))
__all__ = ["ALL_TABLES", *(table.__name__ for table in ALL_TABLES)]  # noqa: PLE0604
