"""Errors are pages: 404 for missing or foreign records, 403 for roles, a calm 500 with a request id, and 503 with
Retry-After while the database is unreachable, restarting or too slow."""

import logging
from urllib.parse import urlencode

from asyncpg.exceptions import DataError
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.response import Redirect, Template

from portal import db, links
from portal.audit import request_id_var
from portal.errors import Forbidden, NotFound, WrongSession
from portal.i18n import N_, gettext
from portal.two_factor import totp

log = logging.getLogger("chairside.errors")

# Translated when shown (portal/locale): the page speaks the reader's language.
MESSAGES = {
    400: (N_("That request could not be understood"), N_("Check the address or go back and try again.")),
    403: (N_("You cannot open this page"), N_("Your role does not allow this, or the form expired. Reload the page "
                                              "and try again, or ask the practice owner.")),
    404: (N_("Not found"), N_("There is nothing here, or it is not part of your clinic.")),
    405: (N_("Not allowed"), N_("That action is not available here.")),
    413: (N_("Too large"), N_("That upload is larger than this portal accepts.")),
    429: (N_("Too many requests"), N_("Please wait a moment and try again.")),
    500: (N_("Something went wrong"), N_("The problem has been logged. Please try again in a moment.")),
    503: (N_("The portal is briefly unavailable"),
          N_("Its database is not answering (a restart or an outage). Nothing you did caused this; please try "
             "again in a few seconds.")),
}
RETRY_AFTER_SECONDS = 5


def error_page(request: Request, status: int) -> Template:
    title, message = (gettext(text) for text in MESSAGES.get(status, MESSAGES[400 if status < 500 else 500]))
    htmx = getattr(request, "htmx", None)
    # An error answering a fragment request (typeahead, filter) replaces the page, not the fragment's box.
    headers = {"HX-Retarget": "body", "HX-Reswap": "innerHTML"} if htmx and not htmx.boosted else {}
    if status in (429, 503):  # both pass: a busy slot or a database coming back
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Template(template_name="errors/error.html", status_code=status, headers=headers, context={
        "status": status, "title": title, "message": message, "request_id": request_id_var.get(),
        "actor": request.state.get("actor")})


def _return_to(request: Request) -> str:
    """Where sign-in leads back to: the full page the person was on, with its query; never a fragment's URL
    (an htmx request names its page in HX-Current-URL) and never a POST-only URL."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        if page := links.own_page(request.app.state.settings, request.headers.get("hx-current-url", "")):
            return page
    elif request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return request.app.route_reverse("dashboard")


def on_not_signed_in(request: Request, _: Exception) -> Response:
    login = f"{request.app.route_reverse('login')}?{urlencode({'next': _return_to(request)})}"
    if getattr(request, "htmx", None):
        return Response(content="", status_code=401, headers={"HX-Redirect": login})
    return Redirect(path=login, status_code=303)


def on_http_exception(request: Request, exc: HTTPException) -> Template:
    status = exc.status_code
    if status >= 500:
        log.error("http %s on %s", status, request.scope.get("path_template"), exc_info=exc)
    elif status != 404:
        log.info("refused %s %s: %s", status, request.scope.get("path_template"), exc.detail)
    return error_page(request, status if status in MESSAGES else (400 if status < 500 else 500))


def on_bad_value(request: Request, exc: DataError) -> Template:
    """A value PostgreSQL cannot hold (an id past int4, a year 10000): the request was malformed."""
    log.info("refused 400 %s: %s", request.scope.get("path_template"), type(exc).__name__)
    return error_page(request, 400)


def on_unexpected(request: Request, exc: Exception) -> Template:
    if db.is_outage(exc):
        log.warning("database unavailable on %s: %s: %s", request.scope.get("path_template"),
                    type(exc).__name__, exc)
        db.expire_pool()  # connections that saw the outage are replaced, not handed to the next request
        return error_page(request, 503)
    log.error("unexpected error on %s", request.scope.get("path_template"), exc_info=exc)
    return error_page(request, 500)


def on_wrong_session(request: Request, exc: WrongSession) -> Template:
    """Staff and patient sign-ins never mix: say which one this browser has and what to do."""
    log.info("refused 403 %s: %s session", request.scope.get("path_template"), exc.has)
    return Template(template_name="errors/wrong_session.html", status_code=403,
                    context={"has": exc.has, "request_id": request_id_var.get()})


def on_enrolment_required(request: Request, _: Exception) -> Response:
    target = request.app.route_reverse("two_factor.enrol")
    if getattr(request, "htmx", None):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


EXCEPTION_HANDLERS = {
    totp.EnrolmentRequired: on_enrolment_required,
    WrongSession: on_wrong_session,
    NotAuthorizedException: on_not_signed_in,
    NotFound: lambda request, _: error_page(request, 404),
    NotFoundException: lambda request, _: error_page(request, 404),
    Forbidden: lambda request, _: error_page(request, 403),
    PermissionDeniedException: on_http_exception,
    HTTPException: on_http_exception,
    DataError: on_bad_value,
    Exception: on_unexpected,
}
