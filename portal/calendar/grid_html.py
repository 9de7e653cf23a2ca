"""The day and week grids' cells as HTML: the appointment cards (only what differs per card: its place, link and,
when it can be moved, its provider; on the week grid its chair) and the day's free slots.

Written here rather than in a template: a day of 120 cards and 320 slots cost Jinja about half of the day view's
time (a dozen lookups, filters and escapes per card, a few per slot), and staff reload the calendar all day.
"""

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal import display
from portal.i18n import gettext


def cards(view: dict, moving: dict | None, card_base: str, zone: str) -> Markup:
    """Every placed appointment of `view` (agenda.day_view or week_view) as an `<a class="cal-appt">` card, drawn
    once per kept copy of the rows (grid_cache) and placement."""
    drawn, drawn_as = view.get("drawn"), view.get("drawn_as")
    if drawn is None or drawn_as is None:
        return _draw(view, moving, card_base, zone)
    key = (drawn_as, moving["id"] if moving else None, card_base, zone)
    markup = drawn.get(key)
    if markup is None:
        markup = drawn[key] = _draw(view, moving, card_base, zone)
    return markup


def _draw(view: dict, moving: dict | None, card_base: str, zone: str) -> Markup:
    by_chair = "chairs" in view
    default_status = view["default_status"]
    held = moving["id"] if moving else None
    statuses: dict[str, str] = {}
    clock_time = display.clock_times(zone)
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
        clock = escape(clock_time(a["local_start"]))
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
    return cards(view, moving, card_base, display.zone_of(context))


def day_slots(view: dict, moving: dict | None) -> Markup:
    """Each row's time label and, per chair, a button for a free slot (one tap books) or, while an appointment is
    being moved, for every slot (one tap moves it there). A slot under an active card is left out: the card hides
    it, and a drag finds its target by position."""
    chairs, covered, step = view["chairs"], view["covered"], view["step"]
    if moving:
        day, provider = view["day"].isoformat(), moving["provider"]
        move_label = Markup(gettext("Move here: %(chair)s at %(time)s"))
    else:
        # each chair's translated "Book <chair> at <time>", cut around the time: a slot costs no translation
        book = Markup(gettext("Book %(chair)s at %(t)s"))
        book_labels = [(book % {"chair": chair["name"], "t": "\x00"}).split("\x00") for chair in chairs]
    parts = []
    for r, t in enumerate(view["grid"].labels, start=2):
        shown = t if step == 15 or t.endswith(":00") else ""
        parts.append(f'\n<div class="cal-time rs-{r}" data-t="{t}">{shown}</div>')
        for c, chair in enumerate(chairs, start=2):
            if moving:
                parts.append(f'<button type="submit" name="pick" value="{day}|{t}|{chair["id"]}|{provider}" '
                             f'class="cal-slot rs-{r} cs-{c}" aria-label="'
                             f'{move_label % {"chair": chair["name"], "time": t}}"></button>')
            elif (r, c) not in covered:
                before, after = book_labels[c - 2]
                parts.append(f'<button class="cal-slot rs-{r} cs-{c}" aria-label="{before}{t}{after}"></button>')
    return Markup("".join(parts))
