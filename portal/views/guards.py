"""Who may reach a controller: the signed-in staff guard, permission guards and the injected Actor."""

import math
from datetime import datetime, timezone

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal import auth, i18n, sessions
from portal.errors import WrongSession
from portal.permissions import Actor, Permission, can
from portal.privacy import signin
from portal.two_factor import totp

# The signed-in Actor, injected by name into handlers that declare `actor: CurrentActor`.
CurrentActor = NamedDependency[Actor]


async def signed_in(connection: Request, _: BaseRouteHandler) -> None:
    """Guard: load the staff Actor from the session, or send the person to sign in."""
    settings = connection.app.state.settings
    session = connection.session if connection.scope.get("session") else {}
    staff_id = session.get("staff_id")
    actor = await auth.load_staff_actor(staff_id, sessions.loaded_staff(connection, staff_id)) if staff_id else None
    if actor is None or sessions.is_expired(session, settings.session_idle_minutes,
                                            settings.session_absolute_hours):
        if session.get("kiosk_clinic"):  # a check-in kiosk never reaches staff pages, and stays a kiosk
            raise PermissionDeniedException()
        connection.clear_session()
        patient_cookie = connection.cookies.get(signin.COOKIE)
        if patient_cookie and await signin.load(patient_cookie, settings):  # signed in to the privacy centre
            raise WrongSession("patient")
        raise NotAuthorizedException()
    if session.get("must_enrol") and connection.scope["route_handler"].name not in totp.ENROL_ROUTES:
        raise totp.EnrolmentRequired()
    sessions.touch(session)
    connection.state.actor = actor
    # a clinic being closed: the countdown on every page (read with the session, no query of its own)
    closing_at = (sessions.loaded_staff(connection, staff_id) or {}).get("closing_at")
    if closing_at is not None and can(actor, Permission.MANAGE_CLINIC):
        left = (closing_at - datetime.now(timezone.utc)).total_seconds()
        connection.state.clinic_closing = {"at": closing_at, "days": max(0, math.ceil(left / 86400))}
    i18n.use(actor.language, actor.country)


def requires(permission: Permission):
    """Guard factory: the route answers 403 unless the actor's role grants `permission`."""

    async def guard(connection: Request, _: BaseRouteHandler) -> None:
        if not can(connection.state.get("actor"), permission):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{permission.value}"
    return guard


async def provide_actor(request: Request) -> Actor:
    return request.state.actor
