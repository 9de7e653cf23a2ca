"""The appointment cards of the day and week grids, as HTML: only what differs per card (its place, link and, when it
can be moved, its provider; on the week grid its chair).

Written here rather than in a template: a day of 120 cards cost Jinja about a quarter of the day view's time
(a dozen lookups, filters and escapes per card), and staff reload the calendar all day.
"""

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal import display
from portal.i18n import gettext


def draw(view: dict, moving: dict | None, card_base: str, zone: str) -> Markup:
    """Every placed appointment of `view` (agenda.day_view or week_view) as an `<a class="cal-appt">` card."""
    by_chair = "chairs" in view
    default_status = view["default_status"]
    held = moving["id"] if moving else None
    statuses: dict[str, str] = {}
    times: dict = {}
    parts = []
    for a in view["appointments"]:
        status = a["status"]
        classes = f'cal-appt rs-{a["row"]} re-{a["span"]} cs-{a["column"]} {a["colour_class"]}'
        badge = ""
        if status != default_status:
            classes += f" status-{status}"
            label = statuses.get(status)
            if label is None:
                label = statuses[status] = str(escape(display.label(status, "appointment_status").lower()))
            badge = f' <span class="badge">{label}</span>'
        if a.get("freed"):
            classes += " freed"
        if held is not None and held == a["id"]:
            classes += " held"
        data = ""
        if a["movable"] and not moving:
            data = f' data-provider="{a["provider"]}"' + ("" if by_chair else f' data-chair="{a["chair"]}"') + \
                ' aria-keyshortcuts="m"'
        start = a["local_start"]
        clock = times.get(start)
        if clock is None:
            clock = times[start] = str(escape(display.format_instant(start, zone, "time")))
        alert = ""
        if a["alerts"]:
            joined = ", ".join(a["alerts"])
            alert = (f' <span class="appt-alert" title="{escape(joined)}" aria-label="'
                     f'{escape(gettext("Alerts: %(alerts)s") % {"alerts": joined})}">⚠</span>')
        provider = f' · {escape(a["provider.name"])}' if by_chair else ""
        parts.append(f'<a class="{classes}" href="{card_base}{a["id"]}"{data}><b>{clock} '
                     f'{escape(a["patient.given_name"])} {escape(a["patient.family_name"])}</b>{alert} '
                     f'{escape(a["appointment_type.name"])}{provider}{badge}</a>')
    return Markup("\n" + "\n".join(parts) if parts else "")


@pass_context
def cards_filter(context: Context, view: dict, moving: dict | None, card_base: str) -> Markup:
    """`{{ view | calendar_cards(moving, card_base) }}` in the grids, in the zone of the page's reader."""
    return draw(view, moving, card_base, display.zone_of(context))
