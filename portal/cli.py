"""The `portal` command: serve | migrate | worker | demo | create-owner | dbshell | backup | restore | audit."""

import argparse
import asyncio
import getpass
import os
import shutil
import sys

from portal import db
from portal.settings import Settings


def _prepare(settings: Settings) -> str:
    """Start or reach the database and publish DATABASE_URL for child processes."""
    return db.resolve_database_url(settings.database_url, settings.data_dir)


async def _with_pool(coro_factory):
    await db.start_pool(max_size=2)
    try:
        return await coro_factory()
    finally:
        await db.close_pool()


def cmd_migrate(settings: Settings, _args) -> None:
    _prepare(settings)
    asyncio.run(db.migrate())


def cmd_demo(settings: Settings, _args) -> None:
    from portal import demo

    _prepare(settings)
    asyncio.run(db.migrate())
    accounts = asyncio.run(_with_pool(demo.load_demo))
    print("\nDemo clinic ready. Sign in with any of these (password: %s):" % demo.PASSWORD)
    for email, role in accounts:
        print(f"  {role:<13} {email}")
    print(f"  demo patient  patient@{demo.DOMAIN} (for the privacy centre)\n")


def _exit_on_sigterm() -> None:
    """Turn SIGTERM (systemd, docker, kill) into a normal exit, so the embedded database is stopped too."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _refuse_production_without_public_url(settings: Settings, args) -> None:
    """HTTPS or a non-loopback bind needs PUBLIC_URL (links in mail); the web workers read the same HOST/PORT."""
    import dataclasses

    from portal import links

    bound = dataclasses.replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    try:
        links.public_base(bound)
    except links.PublicUrlMissing as exc:
        raise SystemExit(str(exc)) from None
    os.environ.update(HOST=bound.host, PORT=str(bound.port))


def cmd_serve(settings: Settings, args) -> None:
    _exit_on_sigterm()
    _refuse_production_without_public_url(settings, args)
    _prepare(settings)
    asyncio.run(db.migrate())
    if args.demo:
        cmd_demo(settings, args)
    host, port = args.host or settings.host, args.port or settings.port
    sink = _start_dev_mail(settings) if args.dev_mail else None
    worker = WorkerChild().start() if args.with_worker else None
    print(f"Chairside on http://{host}:{port}/  (Ctrl+C stops it and the embedded database)")
    try:
        if args.server == "granian":
            from granian import Granian
            from granian.constants import Interfaces

            Granian("portal.app:create_app_from_env", address=host, port=port, interface=Interfaces.ASGI,
                    workers=args.workers, factory=True, log_access=False).serve()
        else:
            import uvicorn

            from portal.operations.http_protocol import NoDelayH11Protocol

            uvicorn.run("portal.app:create_app_from_env", factory=True, host=host, port=port,
                        workers=args.workers, access_log=False, proxy_headers=True, http=NoDelayH11Protocol)
    finally:
        if worker is not None:
            worker.stop()
        if sink is not None:
            sink.stop()
        db.stop_embedded()


def _start_dev_mail(settings: Settings):
    """A local SMTP sink for development (unless SMTP_URL points elsewhere); caught mail shows on /jobs."""
    from urllib.parse import urlsplit

    from portal.messaging import dev_mail

    if os.environ.get("SMTP_URL"):
        return None
    folder = settings.data_dir / "dev-mail"
    url = urlsplit(settings.smtp_url)
    host, port = url.hostname or "127.0.0.1", url.port or 8025
    try:
        sink = dev_mail.start_sink(folder, host, port)
    except (OSError, RuntimeError):  # the port is taken (another checkout's sink): use a free one
        import socket

        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        sink = dev_mail.start_sink(folder, host, port)
    os.environ["SMTP_URL"] = f"smtp://{host}:{port}"  # for the worker started next
    os.environ["DEV_MAIL_DIR"] = str(folder)
    print(f"Development mail is caught at smtp://{host}:{port} and shown to owners on /jobs")
    return sink


class WorkerChild:
    """One `portal worker` beside the web process, started again whenever it exits (and reaped: no zombie)."""

    RESTART_DELAYS = (1, 2, 5, 10, 30)  # seconds before a restart, longer after each quick death

    def __init__(self, command: list[str] | None = None):
        import threading

        self.command = command or [sys.executable, "-m", "portal.cli", "worker", "--no-migrate"]
        self.process = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> "WorkerChild":
        self._spawn()
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        import subprocess

        with self._lock:
            if not self._stopping.is_set():
                self.process = subprocess.Popen(self.command)

    def _watch(self) -> None:
        import time

        quick = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            code = self.process.wait()  # reaps the child
            if self._stopping.is_set():
                return
            quick = quick + 1 if time.monotonic() - started < 60 else 0
            delay = self.RESTART_DELAYS[min(quick, len(self.RESTART_DELAYS) - 1)]
            print(f"The worker exited with code {code}; starting a new one in {delay} s", file=sys.stderr)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()

    def stop(self, timeout: float = 30) -> None:
        """A graceful stop: running jobs finish (SIGTERM), then SIGKILL after `timeout`."""
        import subprocess

        with self._lock:
            self._stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._watcher.join(timeout=5)


def cmd_create_owner(settings: Settings, args) -> None:
    from portal import clinics
    from portal.errors import ValidationFailed

    _prepare(settings)
    asyncio.run(db.migrate())
    password = args.password or os.environ.get("OWNER_PASSWORD") or getpass.getpass("Owner password: ")
    clinic = clinics.NewClinic(name=args.clinic, country=args.country, time_zone=args.time_zone,
                               contact_email=args.contact_email or args.email,
                               privacy_email=args.privacy_email or args.contact_email or args.email,
                               address=args.address)
    owner = clinics.NewOwner(name=args.name, email=args.email, password=password)
    try:
        actor = asyncio.run(_with_pool(lambda: clinics.create_clinic_with_owner(clinic, owner)))
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"  {field}: {message}", file=sys.stderr)
        raise SystemExit(2)
    print(f"Created clinic {actor.clinic_name!r} (owner {args.email}).")


def cmd_dbshell(settings: Settings, _args) -> None:
    url = _prepare(settings)
    # The embedded package ships psql 18, which talks to any PostgreSQL 16+, so no client install is needed.
    bundled = db.embedded_bin_dir() / "psql"
    psql = str(bundled) if bundled.exists() else shutil.which("psql")
    if not psql:
        raise SystemExit("psql is not available")
    # Not exec: the embedded server must outlive psql and then stop cleanly with this process.
    import subprocess

    raise SystemExit(subprocess.call([psql, url]))


def cmd_worker(settings: Settings, args) -> None:
    """Run background jobs (procrastinate) until SIGINT/SIGTERM; start as many as you like."""
    import logging

    _prepare(settings)
    if not args.no_migrate:
        asyncio.run(db.migrate())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s")
    import jobs

    try:
        asyncio.run(jobs.run_worker(settings, concurrency=args.concurrency))
    finally:
        db.stop_embedded()


def cmd_backup(settings: Settings, args) -> None:
    """Write a backup file: a custom-format pg_dump and its manifest, in one tar."""
    from datetime import datetime, timezone
    from pathlib import Path

    from portal.operations import backup, db_roles

    url = _prepare(settings)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = Path(args.file) if args.file else settings.data_dir / "backups" / f"chairside-{stamp}.backup"
    try:
        manifest = asyncio.run(backup.backup(db_roles.owner_url() or url, target))  # the owner reads every table
    except backup.RestoreRefused as exc:
        raise SystemExit(f"backup failed: {exc}")
    finally:
        db.stop_embedded()
    rows = sum(manifest["tables"].values())
    print(f"Backup written to {target} ({manifest['dump_bytes']:,} bytes of dump; {len(manifest['tables'])} "
          f"tables, {rows:,} rows, {len(manifest['images'])} image files, migration {manifest['migration']}, "
          f"{manifest['outbox_waiting']} messages waiting).")


def cmd_restore(settings: Settings, args) -> None:
    """Restore a backup into an empty database, verify it, and hold the messages that were waiting."""
    from pathlib import Path

    from portal.operations import backup, db_roles

    if settings.database_url is None:
        url = db.resolve_database_url(None, settings.data_dir, database=args.database or "chairside")
    else:
        url = db.with_database(settings.database_url, args.database) if args.database else settings.database_url
        os.environ["DATABASE_URL"] = url
        if args.database and db_roles.owner_url():
            os.environ["MIGRATION_DATABASE_URL"] = db.with_database(db_roles.owner_url(), args.database)
        os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
    try:
        result = asyncio.run(backup.restore(db_roles.owner_url() or url, Path(args.file)))
        finished = asyncio.run(backup.finish_restore(settings))
    except backup.RestoreRefused as exc:
        raise SystemExit(f"restore refused: {exc}")
    finally:
        db.stop_embedded()
    manifest = result["manifest"]
    print(f"Restored the backup of {manifest['created_at']} (migration {manifest['migration']}): "
          f"{sum(manifest['tables'].values()):,} rows in {len(manifest['tables'])} tables and "
          f"{len(manifest['images'])} image files match the manifest; append-only triggers and exclusion "
          "constraints are in place.")
    print(f"{finished['held']} waiting messages are held and {finished['dropped']} reminders of past appointments "
          "were dropped: release or drop the held ones on /jobs.")


def cmd_audit_verify(settings: Settings, args) -> None:
    """Walk every clinic's hash chain (or one); name each changed, deleted or inserted row; exit 1 if any."""
    from portal import audit

    _prepare(settings)

    async def verify():
        return [await audit.verify_chain(args.clinic)] if args.clinic is not None else await audit.verify_all()

    try:
        reports = asyncio.run(_with_pool(verify))
    finally:
        db.stop_embedded()
    for report in reports:
        name = f"clinic {report.chain}" if report.chain else "rows of no clinic"
        print(f"{name}: {report.rows} rows, verified up to row {report.verified_up_to}"
              + ("" if report.intact else f", {len(report.problems)} problem(s):"))
        for problem in report.problems:
            print(f"  - {problem}")
    if not all(report.intact for report in reports):
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description="Chairside clinic portal")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and serve the portal")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--server", choices=["granian", "uvicorn"], default="granian",
                       help="granian measured faster in `make bench` (see bench/results/latest.md)")
    serve.add_argument("--demo", action="store_true", help="load the demo clinic first (idempotent)")
    serve.add_argument("--with-worker", action="store_true", help="also run one background worker")
    serve.add_argument("--dev-mail", action="store_true",
                       help="catch outgoing mail in a local SMTP sink shown on /jobs (when SMTP_URL is unset)")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the demo clinic (idempotent)").set_defaults(func=cmd_demo)
    owner = sub.add_parser("create-owner", help="create a clinic and its first owner")
    owner.add_argument("--clinic", required=True)
    owner.add_argument("--name", required=True)
    owner.add_argument("--email", required=True)
    owner.add_argument("--password", help="prompted for when omitted (or OWNER_PASSWORD)")
    owner.add_argument("--country", default="NL")
    owner.add_argument("--time-zone", default="Europe/Amsterdam")
    owner.add_argument("--contact-email")
    owner.add_argument("--privacy-email")
    owner.add_argument("--address", default="")
    owner.set_defaults(func=cmd_create_owner)
    sub.add_parser("dbshell", help="open psql on the configured database").set_defaults(func=cmd_dbshell)
    worker = sub.add_parser("worker", help="run background jobs (reminders, mail, housekeeping)")
    worker.add_argument("--concurrency", type=int, default=4)
    worker.add_argument("--no-migrate", action="store_true", help="the caller has applied migrations")
    worker.set_defaults(func=cmd_worker)
    dump = sub.add_parser("backup", help="write a backup (pg_dump custom format + manifest) to FILE")
    dump.add_argument("file", nargs="?", help="default: $PORTAL_DATA_DIR/backups/chairside-<UTC time>.backup")
    dump.set_defaults(func=cmd_backup)
    load = sub.add_parser("restore", help="restore a backup into an empty database and verify it")
    load.add_argument("file")
    load.add_argument("--database", help="the database to restore into (default: the configured one)")
    load.set_defaults(func=cmd_restore)


    audit_cmd = sub.add_parser("audit", help="check the audit trail").add_subparsers(dest="audit_command",
                                                                                   required=True)
    verify = audit_cmd.add_parser("verify", help="recompute the hash chains; exit 1 naming any tampered row")
    verify.add_argument("--clinic", type=int, help="only this clinic's chain")
    verify.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(Settings.from_env(), args)


if __name__ == "__main__":
    main()
