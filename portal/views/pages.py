"""How a controller reads a posted form and answers: the full page or, for an htmx swap, its fragment."""

import dataclasses
from typing import Any, TypeVar

from jinja2 import pass_context
from litestar import Request
from litestar.response import Redirect, Template
from markupsafe import Markup

FormT = TypeVar("FormT")


async def read_form(request: Request, form_class: type[FormT]) -> FormT:
    """Fill a form dataclass from the posted fields: text as typed (whole), checkboxes by presence.

    Nothing is cut here: the request's size is capped before parsing (portal/request_limits.py) and each domain
    rule says how long its field may be, so an over-long value is refused beside its field, never shortened.
    """
    posted = await request.form()
    values: dict[str, Any] = {}
    for field in dataclasses.fields(form_class):
        if field.type in (bool, "bool"):
            values[field.name] = field.name in posted
        else:
            values[field.name] = str(posted.get(field.name, ""))
    return form_class(**values)


def wants_fragment(request: Request) -> bool:
    """An htmx swap of part of the page; a boosted link or form wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render(request: Request, page_template: str, fragment_template: str | None = None, /, status: int = 200,
           **context) -> Template:
    """One template, two uses: an htmx swap gets the fragment, anything else (boosted too) the full page.

    A refused htmx POST leaves the address bar alone: without `HX-Replace-Url: false` a boosted form would
    push its POST-only URL, and Back or reload would then land on a 405.
    """
    context.setdefault("actor", request.state.get("actor"))
    context.setdefault("clinic_closing", request.state.get("clinic_closing"))
    headers = {"HX-Replace-Url": "false"} if status >= 400 and request.method == "POST" and getattr(
        request, "htmx", None) else None
    return Template(template_name=fragment_template if fragment_template and wants_fragment(request)
                    else page_template, context=context, status_code=status, headers=headers)


def see_other(path: str) -> Redirect:
    """Redirect-after-post."""
    return Redirect(path=path, status_code=303)


# Where a kept rendering takes each response's own form token: escaped text can never contain it.
CSRF_SLOT = "<!--csrf_input-->"


@pass_context
def kept_include(context, kept: dict, name: str) -> Markup:
    """`{% include name %}`, rendered once for everyone `kept` is shared with (a dict that lives with the data the
    template shows, e.g. the live today board's), then served with each response's own freshly masked CSRF token.

    Only for a template whose output depends on nothing but that data and fixed URLs: no actor, no errors.
    """
    key = ("html", name)
    html = kept.get(key)
    if html is None:
        html = kept[key] = context.environment.get_template(name).render(
            {**context.get_all(), "csrf_input": CSRF_SLOT})
    return Markup(html.replace(CSRF_SLOT, context["csrf_input"]))
