"""The staff navigation bar's section links, drawn once per language, permission set and current section.

Every signed-in page shows them: ten permission checks, translations and URLs each time were about a tenth of a
small page's server time, for a strip that differs only by who is looking, in which language, and where.
"""

from jinja2 import pass_context
from markupsafe import Markup

from portal import i18n
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
_PERMISSIONS = tuple(dict.fromkeys(p for _, _, p, _ in SECTIONS if p is not None))

_CURRENT = 'aria-current="page"'
_drawn: dict[tuple, Markup] = {}


@pass_context
def section_links(context) -> Markup:
    """The `<li>` of each section the signed-in person may open, the current one marked `aria-current="page"`."""
    actor, path, url_for = context["actor"], context["request"].url.path, context.resolve("url_for")
    allowed = tuple(can(actor, p) for p in _PERMISSIONS)
    visible = []
    for route, label, permission, by_prefix in SECTIONS:
        if permission is None or allowed[_PERMISSIONS.index(permission)]:
            url = context.call(url_for, route)  # the app's url_for, which remembers fixed URLs
            visible.append((url, label, path.startswith(url) if by_prefix else path == url))
    current = next((i for i, (_, _, here) in enumerate(visible) if here), None)
    key = (i18n.current(), allowed, current)
    drawn = _drawn.get(key)
    if drawn is None:
        drawn = _drawn[key] = Markup("\n        ".join(
            f'<li><a href="{url}" {_CURRENT if here else ""}>{label}</a></li>' for url, label, here in visible))
    return drawn
