"""The staff navigation bar's sections: which one a path is in, and their links (drawn with the top bar, kept per
person, language and section by portal/views/chrome.py)."""

from jinja2 import pass_context
from markupsafe import Markup

from portal.i18n import lazy_gettext
from portal.permissions import Permission, can

# (route name, label, permission needed or None, current when the path starts with the URL, not only equals it)
SECTIONS = (
    ("dashboard", lazy_gettext("Today"), None, False),
    ("calendar.day", lazy_gettext("Calendar"), Permission.MANAGE_CALENDAR, True),
    ("lab.board", lazy_gettext("Lab work"), Permission.MANAGE_CALENDAR, True),
    ("recall.list", lazy_gettext("Recall"), Permission.MANAGE_CALENDAR, True),
    ("patients.list", lazy_gettext("Patients"), Permission.READ_DEMOGRAPHICS, True),
    ("staff.list", lazy_gettext("Staff"), Permission.MANAGE_STAFF, True),
    ("settings.show", lazy_gettext("Set-up"), Permission.MANAGE_CLINIC, True),
    ("privacy_requests.list", lazy_gettext("Privacy"), Permission.HANDLE_PRIVACY_REQUESTS, True),
    ("billing_reports.show", lazy_gettext("Reports"), Permission.VIEW_REPORTS, True),
    ("audit.list", lazy_gettext("Audit"), Permission.VIEW_AUDIT, True),
)
_CURRENT = 'aria-current="page"'


def current_section(app, actor, path: str) -> str | None:
    """The route of the section `path` belongs to, among those `actor` may open (the first that matches)."""
    for route, _, permission, by_prefix in SECTIONS:
        if permission is None or can(actor, permission):
            url = fixed_url(app, route)
            if path.startswith(url) if by_prefix else path == url:
                return route
    return None


def fixed_url(app, route: str, file_path: str | None = None) -> str:
    """The URL of a route without ids (or of a static file), reversed once per app: a page's chrome asks for about
    thirty, and reversing a route each time was a tenth of a signed-in page's time."""
    key = (route, file_path)
    url = app.state.fixed_urls.get(key)
    if url is None:
        url = app.state.fixed_urls[key] = (app.route_reverse(route, file_path=file_path) if file_path is not None
                                           else app.route_reverse(route))
    return url


@pass_context
def section_links(context) -> Markup:
    """The `<li>` of each section the signed-in person may open, `section` (current_section) marked
    `aria-current="page"`. Drawn with the rest of the top bar (portal/views/chrome.py)."""
    actor, app, current = context["actor"], context["request"].app, context["section"]
    return Markup("\n        ".join(
        f'<li><a href="{fixed_url(app, route)}" {_CURRENT if route == current else ""}>{label}</a></li>'
        for route, label, permission, _ in SECTIONS if permission is None or can(actor, permission)))
