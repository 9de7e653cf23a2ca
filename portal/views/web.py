"""What every controller shares: the signed-in guard, permission guards, form reading and fragment-or-page."""

import dataclasses
from typing import Any, TypeVar

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from portal import auth, sessions
from portal.errors import WrongSession
from portal.permissions import Actor, Permission, can
from portal.privacy import signin

FormT = TypeVar("FormT")
# The signed-in Actor, injected by name into handlers that declare `actor: CurrentActor`.
CurrentActor = NamedDependency[Actor]


async def signed_in(connection: Request, _: BaseRouteHandler) -> None:
    """Guard: load the staff Actor from the session, or send the person to sign in."""
    settings = connection.app.state.settings
    session = connection.session if connection.scope.get("session") else {}
    staff_id = session.get("staff_id")
    actor = await auth.load_staff_actor(staff_id) if staff_id else None
    if actor is None or sessions.is_expired(session, settings.session_idle_minutes,
                                            settings.session_absolute_hours):
        connection.clear_session()
        patient_cookie = connection.cookies.get(signin.COOKIE)
        if patient_cookie and await signin.load(patient_cookie, settings):  # signed in to the privacy centre
            raise WrongSession("patient")
        raise NotAuthorizedException()
    sessions.touch(session)
    connection.state.actor = actor


def requires(permission: Permission):
    """Guard factory: the route answers 403 unless the actor's role grants `permission`."""

    async def guard(connection: Request, _: BaseRouteHandler) -> None:
        if not can(connection.state.get("actor"), permission):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{permission.value}"
    return guard


async def provide_actor(request: Request) -> Actor:
    return request.state.actor


async def read_form(request: Request, form_class: type[FormT]) -> FormT:
    """Fill a form dataclass from the posted fields: text stripped of nothing, checkboxes by presence."""
    posted = await request.form()
    values: dict[str, Any] = {}
    for field in dataclasses.fields(form_class):
        if field.type in (bool, "bool"):
            values[field.name] = field.name in posted
        else:
            values[field.name] = str(posted.get(field.name, ""))[:2000]
    return form_class(**values)


def render(request: Request, page_template: str, fragment_template: str | None = None, /, status: int = 200,
           **context) -> Template:
    """One template, two uses: an htmx swap gets the fragment, anything else (boosted too) the full page."""
    htmx = getattr(request, "htmx", None)
    wants_fragment = fragment_template is not None and bool(htmx) and not htmx.boosted
    context.setdefault("actor", request.state.get("actor"))
    return Template(template_name=fragment_template if wants_fragment else page_template, context=context,
                    status_code=status)


def see_other(path: str) -> Redirect:
    """Redirect-after-post."""
    return Redirect(path=path, status_code=303)
