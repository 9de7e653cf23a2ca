"""Pages anyone may fetch: liveness and readiness checks, the privacy-signal file and the cookie statement."""

import logging

from litestar import Controller, Request, Response, get
from litestar.response import Template

from portal import db
from portal.operations import job_status
from portal.views.errors import RETRY_AFTER_SECONDS
from portal.views.pages import render

log = logging.getLogger("chairside.health")
READY_TIMEOUT_SECONDS = 2.0


class SystemController(Controller):
    @get("/healthz", name="healthz", sync_to_thread=False)
    def health(self) -> dict:
        """Liveness for load balancers and the set-up script (no database round trip)."""
        return {"status": "ok"}

    @get("/readyz", name="readyz")
    async def ready(self, request: Request) -> Response:
        """Readiness: a short-timeout `SELECT 1` (503 with Retry-After when the database cannot answer) and the
        age of the freshest worker heartbeat (reported, not judged: a web process can serve without workers)."""
        settings = request.app.state.settings
        timeout = min(READY_TIMEOUT_SECONDS, settings.db_statement_timeout)
        try:
            await db.ping(timeout)
            workers = await job_status.freshest_heartbeat(timeout)
        except Exception as exc:
            if not db.is_outage(exc):
                raise
            log.warning("not ready: %s: %s", type(exc).__name__, exc)
            db.expire_pool()
            return Response({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"})
        age = workers["age_seconds"]
        return Response({"status": "ready", "database": "ok", "worker_heartbeat_age_seconds": age,
                         "workers_stale": age is None or age > settings.worker_stale_seconds},
                        headers={"Cache-Control": "no-store"})

    @get("/.well-known/gpc.json", name="gpc", sync_to_thread=False)
    def global_privacy_control(self) -> dict:
        """We sell and share nothing, so a GPC signal is honoured by default."""
        return {"gpc": True, "lastUpdate": "2026-11-24"}

    @get("/cookies", name="cookies")
    async def cookies(self, request: Request) -> Template:
        """Which cookies we set and why (essential ones only)."""
        return render(request, "system/cookies.html")
