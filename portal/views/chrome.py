"""The chrome of every full staff page (head links, top bar, footer), drawn once and served from memory.

A signed-in page's chrome differs only by who looks, in which language, with how many clinics and in which section,
yet drawing it (thirty URLs, a dozen translations and permission checks, two forms) was most of a small page's
server time. Each part is drawn from a context of exactly its key (plus the request, for URLs), so nothing outside
the key can slip into a shared copy, and each response fills in its own CSRF token and path.

A copy names a staff member and a clinic, so it is drawn again after `KEEP_SECONDS` and swept with the rest: a
renamed or erased person's old name does not stay in a process's memory.
"""

import time

from jinja2 import pass_context
from markupsafe import Markup, escape

from portal import i18n
from portal.views import navigation
from portal.views.pages import CSRF_SLOT

PATH_SLOT = "<!--path-->"  # the page's own path (the language form's `next`), escaped per response
KEEP_SECONDS = 300.0
ENTRIES = 2048

_drawn: dict[tuple, tuple[str, float]] = {}
_swept_at = 0.0


@pass_context
def kept_chrome(context, name: str, personal: bool = False) -> Markup:
    """The chrome template `name` for this response: the kept drawing with its token and path filled in.

    A `personal` part (the top bar) is kept per person, number of clinics and current section; the others only per
    language and whether someone is signed in (`signed_in` in their context)."""
    actor = context.get("actor")
    request = context["request"]
    path = request.url.path
    if personal and actor is not None:
        values = {"actor": actor, "clinics": request.session.get("clinics", 1),
                  "section": navigation.current_section(request.app, actor, path)}
    else:
        values = {"signed_in": actor is not None}
    key = (name, i18n.current(), *values.values())
    now = time.monotonic()
    _sweep(now)
    kept = _drawn.get(key)
    if kept is None or now - kept[1] > KEEP_SECONDS:
        if len(_drawn) >= ENTRIES:
            _drawn.clear()
        html = context.environment.get_template(name).render(request=request, csrf_input=CSRF_SLOT, path=PATH_SLOT,
                                                             **values)
        kept = _drawn[key] = (html, now)
    html = kept[0]
    if CSRF_SLOT in html:
        html = html.replace(CSRF_SLOT, context.get("csrf_input") or "")
    if PATH_SLOT in html:
        html = html.replace(PATH_SLOT, escape(path))
    return Markup(html)


def _sweep(now: float) -> None:
    """Drop the copies older than `KEEP_SECONDS` (looked at once every tenth of that)."""
    global _swept_at
    if now - _swept_at < KEEP_SECONDS / 10:
        return
    _swept_at = now
    for key in [key for key, (_, drawn_at) in _drawn.items() if now - drawn_at > KEEP_SECONDS]:
        del _drawn[key]


def forget() -> None:
    """Drop every copy (a test that counts drawings from none)."""
    _drawn.clear()
