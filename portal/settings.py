"""The one frozen Settings object, read from the environment with safe defaults."""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(data_dir: Path) -> str:
    """Keep a generated secret beside the data so restarts keep sessions and CSRF cookies valid."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    host: str
    port: int
    secret_key: str
    https: bool
    session_idle_minutes: int
    session_absolute_hours: int
    login_account_limit: int
    login_ip_limit: int
    login_window_minutes: int
    log_dir: Path
    log_keep_days: int
    trusted_proxies: frozenset[str] = frozenset()
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "Chairside <no-reply@chairside.localhost>"
    templates_dir: Path = field(default=PROJECT_ROOT / "templates")
    static_dir: Path = field(default=PROJECT_ROOT / "static")
    image_max_bytes: int = 50 * 1024 * 1024
    upload_concurrency: int = 2  # upload requests one process handles at once; more wait briefly, then get 503
    outbox_lease_seconds: int = 120
    dev_mail_dir: Path | None = None  # where `make run`'s local SMTP sink keeps caught mail (owner page)
    # SMS through a Twilio-style REST gateway; off unless all of sid, token and sender are set.
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str = ""
    # WhatsApp Business Cloud API; off unless token and phone number id are set.
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_reminder_template: str = "appointment_reminder"
    call_recording_days: int = 90  # recordings of calls are deleted this many days after the call
    credentials_key: str = ""  # Fernet key for providers' credentials per clinic; derived from secret_key if empty
    inbound_mail_domain: str = ""  # e.g. reply.portal.example.nl: routed email is off while empty
    mail_webhook_signing_key: str = ""  # the inbound-mail provider's webhook signing key (Mailgun-style)
    inbound_smtp: str = ""  # host:port the worker's SMTP listener takes routed mail on (self-hosting); off if empty
    # Online payments through Mollie's REST API; off unless an API key is set.
    mollie_api_url: str = "https://api.mollie.com"
    mollie_api_key: str = ""
    whatsapp_recall_template: str = "recall_reminder"
    meta_app_id: str = ""  # social leads (Facebook/Instagram lead ads): off until the app id and secret are set
    meta_app_secret: str = ""
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v21.0"
    meta_verify_token: str = ""
    public_url: str = ""  # e.g. https://portal.example.nl: mailed links use it, never the request's Host header
    db_connect_timeout: float = 5.0  # seconds to open a database connection
    db_statement_timeout: float = 15.0  # seconds one statement of a web request may run (workers: 4x)
    db_acquire_timeout: float = 5.0  # seconds a request may wait for a free pooled connection
    session_cache_seconds: float = 30.0  # longest a web process keeps a session it read (0: it never keeps one)
    worker_stale_seconds: int = 60  # a worker without a heartbeat for this long is shown in red
    worker_reconnect_seconds: int = 300  # a worker waits this long for the database, then exits non-zero
    totp_required_roles: frozenset[str] = frozenset({"owner"})  # roles that must sign in with a second factor
    erasure_undo_minutes: int = 30  # an approved erasure waits this long (undo possible) before anything is erased
    contact_cooling_days: int = 7  # the health record waits this long in the privacy centre after a contact change

    @property
    def base_url(self) -> str:
        """Where people reach the portal (kept for callers; links.absolute_url is the builder)."""
        from portal.links import public_base

        return public_base(self)

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(os.environ.get("PORTAL_DATA_DIR", PROJECT_ROOT / "var")).resolve()
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=data_dir,
            host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", "8000")),
            secret_key=_secret_key(data_dir),
            https=_flag("PORTAL_HTTPS", False),
            session_idle_minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
            session_absolute_hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")),
            login_account_limit=int(os.environ.get("LOGIN_ACCOUNT_LIMIT", "5")),
            login_ip_limit=int(os.environ.get("LOGIN_IP_LIMIT", "20")),
            login_window_minutes=int(os.environ.get("LOGIN_WINDOW_MINUTES", "15")),
            log_dir=Path(os.environ.get("PORTAL_LOG_DIR", data_dir / "log")).resolve(),
            log_keep_days=int(os.environ.get("LOG_KEEP_DAYS", "14")),
            trusted_proxies=frozenset(p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
            smtp_url=os.environ.get("SMTP_URL", "smtp://127.0.0.1:8025"),
            mail_from=os.environ.get("MAIL_FROM", "Chairside <no-reply@chairside.localhost>"),
            image_max_bytes=int(float(os.environ.get("IMAGE_MAX_MB", "50")) * 1024 * 1024),
            upload_concurrency=max(int(os.environ.get("UPLOAD_CONCURRENCY", "2")), 1),
            outbox_lease_seconds=int(os.environ.get("OUTBOX_LEASE_SECONDS", "120")),
            dev_mail_dir=Path(os.environ["DEV_MAIL_DIR"]) if os.environ.get("DEV_MAIL_DIR") else None,
            sms_api_url=os.environ.get("SMS_API_URL", "https://api.twilio.com"),
            sms_account_sid=os.environ.get("SMS_ACCOUNT_SID", ""),
            sms_auth_token=os.environ.get("SMS_AUTH_TOKEN", ""),
            sms_from=os.environ.get("SMS_FROM", ""),
            whatsapp_api_url=os.environ.get("WHATSAPP_API_URL", "https://graph.facebook.com"),
            whatsapp_api_version=os.environ.get("WHATSAPP_API_VERSION", "v21.0"),
            whatsapp_token=os.environ.get("WHATSAPP_TOKEN", ""),
            whatsapp_phone_number_id=os.environ.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            whatsapp_app_secret=os.environ.get("WHATSAPP_APP_SECRET", ""),
            whatsapp_verify_token=os.environ.get("WHATSAPP_VERIFY_TOKEN", ""),
            whatsapp_reminder_template=os.environ.get("WHATSAPP_REMINDER_TEMPLATE", "appointment_reminder"),
            call_recording_days=int(os.environ.get("CALL_RECORDING_DAYS", "90")),
            credentials_key=os.environ.get("CREDENTIALS_KEY", ""),
            inbound_mail_domain=os.environ.get("INBOUND_MAIL_DOMAIN", "").strip().lower(),
            mail_webhook_signing_key=os.environ.get("MAIL_WEBHOOK_SIGNING_KEY", ""),
            inbound_smtp=os.environ.get("INBOUND_SMTP", "").strip(),
            mollie_api_url=os.environ.get("MOLLIE_API_URL", "https://api.mollie.com"),
            mollie_api_key=os.environ.get("MOLLIE_API_KEY", ""),
            whatsapp_recall_template=os.environ.get("WHATSAPP_RECALL_TEMPLATE", "recall_reminder"),
            meta_app_id=os.environ.get("META_APP_ID", ""),
            meta_app_secret=os.environ.get("META_APP_SECRET", ""),
            meta_graph_url=os.environ.get("META_GRAPH_URL", "https://graph.facebook.com").rstrip("/"),
            meta_graph_version=os.environ.get("META_GRAPH_VERSION", "v21.0"),
            meta_verify_token=os.environ.get("META_VERIFY_TOKEN", ""),
            public_url=os.environ.get("PUBLIC_URL", "").rstrip("/"),
            db_connect_timeout=float(os.environ.get("DB_CONNECT_TIMEOUT", "5")),
            db_statement_timeout=float(os.environ.get("DB_STATEMENT_TIMEOUT", "15")),
            db_acquire_timeout=float(os.environ.get("DB_ACQUIRE_TIMEOUT", "5")),
            session_cache_seconds=float(os.environ.get("SESSION_CACHE_SECONDS", "30")),
            worker_stale_seconds=int(os.environ.get("WORKER_STALE_SECONDS", "60")),
            worker_reconnect_seconds=int(os.environ.get("WORKER_RECONNECT_SECONDS", "300")),
            totp_required_roles=frozenset(r.strip() for r in os.environ.get("TOTP_REQUIRED_ROLES", "owner").split(",")
                                          if r.strip()),
            erasure_undo_minutes=max(int(os.environ.get("ERASURE_UNDO_MINUTES", "30")), 0),
            contact_cooling_days=max(int(os.environ.get("CONTACT_COOLING_DAYS", "7")), 0),
        )
