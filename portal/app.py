"""create_app(settings) -> Litestar: plugins, middleware, routes, lifespan."""

import asyncio
import gc
from contextlib import asynccontextmanager

from jinja2 import pass_context
from litestar import Litestar
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal import db, display, i18n, links, phones, sessions
from portal.calendar import grid_html
from portal.charts import teeth
from portal.permissions import Permission, can
from portal.request_limits import DEFAULT_MAX_BODY, request_limits_middleware
from portal.request_log import configure_logging, request_logging_middleware
from portal.security_headers import security_headers_middleware
from portal.sessions import PostgresSessionStore, SessionConfig
from portal.settings import Settings
from portal.views import bar_chart, chrome, navigation, pages
from portal.views.audit import AuditController
from portal.views.auth import AuthController
from portal.views.billing import BillingController, MollieWebhookController, OverdueController
from portal.views.billing_claims import BillingClaimsController
from portal.views.billing_patient import BillingPatientController
from portal.views.billing_payers import BillingPayersController
from portal.views.billing_reports import BillingReportsController
from portal.views.billing_settings import BillingSettingsController
from portal.views.booking import BookingController, ClinicBookingController, ManageBookingController, OfferController
from portal.views.breaches import BreachController
from portal.views.calendar import CalendarController
from portal.views.calendar_feed import CalendarFeedController, IcalFeedController
from portal.views.calls import CallsController
from portal.views.channels import ChannelAccountsController
from portal.views.chart import ChartController
from portal.views.clinical_settings import ClinicalSetupController
from portal.views.closing import ClosingController
from portal.views.contacts import AddressLinkController, OwnCodeController, PatientContactsController
from portal.views.csrf import MaskedCSRFMiddleware
from portal.views.dashboard import DashboardController
from portal.views.errors import EXCEPTION_HANDLERS
from portal.views.export_keys import ExportKeysController
from portal.views.families import FamilyController
from portal.views.imaging import imaging_routes
from portal.views.jobs import JobsController
from portal.views.kiosk import KioskController, KioskStartController
from portal.views.lab import AlignerController, LabController, LabDownloadController, PatientLabController
from portal.views.memberships import MembershipController
from portal.views.messaging import MessagingController
from portal.views.notes import NoteController
from portal.views.passwords import InvitationController, PasswordController
from portal.views.patient_forms import FillFormController, PatientFormsController
from portal.views.patient_visits import PatientVisitsController
from portal.views.patients import PatientController
from portal.views.perio import PerioController
from portal.views.plans import PlanController
from portal.views.prescriptions import PrescriptionController
from portal.views.previous_clinic import PreviousClinicController
from portal.views.privacy_centre import PrivacyCentreController
from portal.views.privacy_requests import PrivacyRequestController
from portal.views.privacy_settings import PrivacySettingsController
from portal.views.public_messages import (
    MailWebhookController,
    SmsWebhookController,
    UnsubscribeController,
    VoiceWebhookController,
    WhatsAppWebhookController,
)
from portal.views.recall import PatientRecallController, RecallController, WaitlistController
from portal.views.record_import import record_import_routes
from portal.views.referrals import ReferralController
from portal.views.settings import SettingsController
from portal.views.social import DeletionStatusController, MetaWebhookController, SocialController
from portal.views.staff import EmailLinkController, LanguageController, OwnEmailController, StaffController
from portal.views.system import SystemController
from portal.views.two_factor import TwoFactorController

# Responses from 1 KB are compressed when the browser accepts it (a day view shrinks about sixfold), at the fastest
# level of each: the server's CPU is what a clinic's two cores run short of, not the bytes. Measured on this machine
# (2026-12-01) per response: the 38 KB day view in brotli 1 is 6.6 KB in 0.14 ms, in brotli 4 5.6 KB in 0.55 ms;
# gzip 1 7.3 KB in 0.29 ms, gzip 6 6.0 KB in 0.68 ms; the 27 KB today board in brotli 1 4.1 KB in 0.08 ms (brotli
# 4: 3.6 KB in 0.33 ms). A kilobyte more is well under a round trip on any line. CSRF tokens are masked per
# response (portal/views/csrf.py), so compression does not open BREACH. Image files are compressed already.
COMPRESS_FROM_BYTES = 1024
COMPRESSION_LEVEL = 1
BROTLI_QUALITY = 1
ALREADY_COMPRESSED = [r"/images/\d+/(file|display|thumbnail)$"]

CONTROLLERS = [SystemController, AuthController, DashboardController, StaffController, PatientController,
               CalendarController, IcalFeedController, CalendarFeedController, SettingsController,
               AuditController, ChartController, PlanController, NoteController, ClinicalSetupController,
               PrivacyCentreController, PrivacyRequestController, PrivacySettingsController, JobsController,
               UnsubscribeController, WhatsAppWebhookController, SmsWebhookController, MailWebhookController,
               VoiceWebhookController, CallsController, MessagingController,
               PasswordController, InvitationController, PatientVisitsController, LanguageController,
               PerioController]
CONTROLLERS += [LabController, PatientLabController, PrescriptionController, ReferralController, AlignerController,
                LabDownloadController]
CONTROLLERS += [PatientContactsController, AddressLinkController, OwnCodeController, TwoFactorController]
CONTROLLERS += [MembershipController]
CONTROLLERS.append(FamilyController)  # families and linked guardians (issue 15)
CONTROLLERS += [EmailLinkController, OwnEmailController]  # staff email changes confirmed by the new address
CONTROLLERS += [ExportKeysController, PreviousClinicController]  # export keys (signed out), imported history
CONTROLLERS += [BillingController, BillingReportsController, BillingSettingsController,  # portal/billing
                MollieWebhookController]
CONTROLLERS.append(BillingPatientController)  # the privacy centre's invoice downloads
CONTROLLERS.append(OverdueController)  # payment plans' overdue instalments
CONTROLLERS += [BillingPayersController, BillingClaimsController]  # third-party payers and their claims
CONTROLLERS += [RecallController, PatientRecallController, BookingController, ManageBookingController,
                WaitlistController, OfferController, ClinicBookingController]
CONTROLLERS.append(BreachController)  # the breach register (GDPR Art. 33/34)
CONTROLLERS.append(ClosingController)  # closing the clinic's account (portal/closing)
CONTROLLERS += [PatientFormsController, FillFormController, KioskStartController, KioskController]
CONTROLLERS += [SocialController, MetaWebhookController, DeletionStatusController]
CONTROLLERS += [ChannelAccountsController]


def _named_options(base: dict, rows: list[dict]) -> dict:
    return {**base, **{str(r["id"]): r["name"] for r in rows}}


def _type_options(base: dict, rows: list[dict]) -> dict:
    return {**base, **{str(r["id"]): f'{r["name"]} ({r["minutes"]} min)' for r in rows}}


def _code_options(base: dict, rows: list[dict], currency: str) -> dict:
    return {**base, **{str(r["id"]): f'{r["code"]} · {r["description"]} · {r["fee"]} {currency}' for r in rows}}


def _provider_errors(errors: dict, provider_id: int) -> dict:
    prefix = f"provider_{provider_id}_"
    return {k.removeprefix(prefix): v for k, v in errors.items() if k.startswith(prefix)}


@pass_context
def _route_path(context, route_name: str, **path_parameters) -> str:
    """Litestar's `url_for`, remembered per app for the URLs that never vary (navigation.fixed_url); URLs with ids
    are not kept, so the memory stays the size of the route table."""
    app = context["request"].app
    if path_parameters and list(path_parameters) != ["file_path"]:
        return app.route_reverse(route_name, **path_parameters)
    return navigation.fixed_url(app, route_name, path_parameters.get("file_path"))


_DICT_NAMES = frozenset(dir(dict))


def _read_dicts_first(environment) -> None:
    """`row.name` on a dict without first asking the dict for an attribute `name`, which fails with an exception
    for every key (Jinja's order): the same answer, as a name that is a dict attribute still goes the usual way.
    Our rows are dicts; a calendar day reads a few thousand of them."""
    usual = environment.getattr

    def getattr_(obj, attribute):
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return usual(obj, attribute)

    environment.getattr = getattr_


def _template_globals(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals.update(can=lambda actor, name: can(actor, Permission(name)), phone=phones.display,
                                 tooth_label=teeth.label, url_for=_route_path, section_links=navigation.section_links,
                                 kept_include=pages.kept_include, kept_chrome=chrome.kept_chrome,
                                 bar_chart=bar_chart.bar_chart)
    engine.engine.filters.update(combine_named=_named_options, combine_types=_type_options,
                                 combine_codes=_code_options,
                                 provider_errors=_provider_errors, calendar_cards=grid_html.cards_filter,
                                 calendar_slots=grid_html.day_slots,
                                 **display.FILTERS)
    engine.engine.auto_reload = False  # templates change with a deploy, which restarts the workers
    _read_dicts_first(engine.engine)
    i18n.install(engine.engine)


def create_app(settings: Settings | None = None, manage_pool: bool = True) -> Litestar:
    """Build the app; `manage_pool=False` lets tests own the connection pool on their event loop."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    allowed_hosts = links.allowed_hosts(settings)  # raises PublicUrlMissing in production without PUBLIC_URL
    db.resolve_database_url(settings.database_url, settings.data_dir)

    @asynccontextmanager
    async def pool(_: Litestar):
        if manage_pool:
            await db.start_pool(statement_timeout=settings.db_statement_timeout)
            # Move start-up objects out of the garbage collector's way: full collections were most of the
            # day view's p95 tail in `make bench`.
            gc.collect()
            gc.freeze()
        listener = (asyncio.create_task(sessions.keep_listening(settings.session_cache_seconds))
                    if manage_pool and settings.session_cache_seconds > 0 else None)
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            if manage_pool:
                await db.close_pool()

    csrf_config = CSRFConfig(secret=settings.secret_key, cookie_httponly=True, cookie_secure=settings.https,
                             cookie_samesite="lax", header_name="x-csrftoken")
    session_config = SessionConfig(
        key="session", max_age=settings.session_absolute_hours * 3600, httponly=True, secure=settings.https,
        samesite="lax", store="sessions")
    app = Litestar(
        route_handlers=[*CONTROLLERS, imaging_routes(settings), record_import_routes(settings),
                        create_static_files_router(path="/static", directories=[settings.static_dir],
                                                                 name="static", include_in_schema=False)],
        # limits first (before any parsing), CSRF last (inside the session, as Litestar's own would be)
        middleware=[request_limits_middleware, session_config.middleware,
                    DefineMiddleware(MaskedCSRFMiddleware, config=csrf_config)],
        request_max_body_size=DEFAULT_MAX_BODY,
        allowed_hosts=AllowedHostsConfig(allowed_hosts=allowed_hosts),
        compression_config=CompressionConfig(backend="brotli", minimum_size=COMPRESS_FROM_BYTES,
                                             brotli_quality=BROTLI_QUALITY, brotli_gzip_fallback=True,
                                             gzip_compress_level=COMPRESSION_LEVEL, exclude=ALREADY_COMPRESSED),
        stores={"sessions": PostgresSessionStore()},
        template_config=TemplateConfig(directory=settings.templates_dir, engine=JinjaTemplateEngine,
                                       engine_callback=_template_globals),
        plugins=[HTMXPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[pool],
        openapi_config=None,
        debug=False,
    )
    app.state.settings = settings
    app.state.csrf_config = csrf_config
    app.state.fixed_urls = {}  # see _route_path
    # Outside the router, so that unrouted 404s and errors get the same headers and log line as pages.
    app.asgi_handler = security_headers_middleware(
        request_logging_middleware(i18n.language_middleware(app.asgi_handler)), https=settings.https)
    return app


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers started with several workers (DATABASE_URL set by `portal serve`)."""
    return create_app(Settings.from_env())
