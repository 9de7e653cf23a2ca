"""What each page requires, written down independently of the code so the role matrix test can check it."""

from portal.permissions import Permission

REQUIRED = {
    "/": Permission.VIEW_DASHBOARD,
    "/patients": Permission.READ_DEMOGRAPHICS,
    "/patients/search": Permission.READ_DEMOGRAPHICS,
    "/patients/new": Permission.EDIT_DEMOGRAPHICS,
    "/patients/{patient_id:int}": Permission.READ_DEMOGRAPHICS,
    "/patients/{patient_id:int}/edit": Permission.EDIT_DEMOGRAPHICS,
    "/staff": Permission.MANAGE_STAFF,
    "/staff/new": Permission.MANAGE_STAFF,
    "/staff/{staff_id:int}": Permission.MANAGE_STAFF,
    "/audit": Permission.VIEW_AUDIT,
    "/audit/export.csv": Permission.VIEW_AUDIT,
    "/settings": Permission.MANAGE_CLINIC,
    "/calendar": Permission.MANAGE_CALENDAR,
    "/calendar/week": Permission.MANAGE_CALENDAR,
    "/calendar/month": Permission.MANAGE_CALENDAR,
    "/calendar/book": Permission.MANAGE_CALENDAR,
    "/calendar/patient-options": Permission.MANAGE_CALENDAR,
    "/calendar/free": Permission.MANAGE_CALENDAR,
    "/calendar/appointments/{appointment_id:int}": Permission.MANAGE_CALENDAR,
    "/account/calendar-feed": Permission.MANAGE_CALENDAR,
    "/jobs": Permission.MANAGE_CLINIC,
    "/jobs/news": Permission.MANAGE_CLINIC,
    "/leads": Permission.READ_DEMOGRAPHICS,
    "/patients/{patient_id:int}/messages": Permission.READ_DEMOGRAPHICS,
}
