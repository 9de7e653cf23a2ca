"""The today board's timeline: one row per chair, a bar per visit, hour ticks and a line at now, drawn as SVG.

Drawn here rather than in the template: about 120 bars, each with a position, a width and a title, cost a Jinja
loop several filter calls apiece, and the front desk polls the board every 30 seconds. Between two polls the bars
mostly stay as they were, so each process keeps the last drawings, keyed by everything they show.
"""

import time
from datetime import datetime

from markupsafe import Markup, escape

from portal import display, i18n
from portal.i18n import gettext

LEFT = 120  # where the bars start, after the chair names
WIDTH = 850  # the bars' full width (the viewBox is 1000 wide)
ROW = 36  # one chair's height, bar 28 plus the gap


# Drawings kept, keyed by all that a drawing shows but the now-line (zone, language and locale, the day's ends, each
# chair's name and visits); a changed visit makes another key, so a kept drawing is never stale. They hold patients'
# names, so all are dropped every KEEP_SECONDS: an erased name does not stay in a process's memory.
_kept: dict[tuple, str] = {}
_kept_since = 0.0
DRAWINGS_KEPT = 64
KEEP_SECONDS = 300.0


def draw(board, zone: str) -> Markup:
    """The whole `<svg>` of a `front_desk.Board` in the clinic's zone (empty when the clinic has no chairs)."""
    if not board.chairs:
        return Markup("")
    key = (zone, i18n.current(), str(i18n.babel_locale()), board.opens_at, board.closes_at,
           tuple((chair.name, tuple((v.starts_at, v.ends_at, v.state, v.patient_name, v.kind) for v in chair.visits))
                 for chair in board.chairs))
    global _kept_since
    if time.monotonic() - _kept_since > KEEP_SECONDS:
        _kept.clear()
        _kept_since = time.monotonic()
    body = _kept.get(key)
    if body is None:
        if len(_kept) >= DRAWINGS_KEPT:
            _kept.clear()
        body = _kept[key] = _bars(board, zone)
    parts = [body]
    if board.opens_at <= board.now <= board.closes_at:
        nx = round(_x_of(board, board.now), 1)
        parts.append(f'<line x1="{nx}" x2="{nx}" y1="0" y2="{_bottom(board)}" class="timeline-now"/>')
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _bottom(board) -> int:
    return len(board.chairs) * ROW + 4


def _x_of(board, moment: datetime) -> float:
    return LEFT + ((moment - board.opens_at).total_seconds() / (board.closes_at - board.opens_at).total_seconds()
                   * WIDTH)


def _bars(board, zone: str) -> str:
    """Everything before the now-line: the title, hour ticks, chair names and a bar per visit."""
    span = (board.closes_at - board.opens_at).total_seconds()

    def x_of(moment: datetime) -> float:
        return LEFT + ((moment - board.opens_at).total_seconds() / span * WIDTH)

    clock_time = display.clock_times(zone)  # chairs share their start times

    bottom = _bottom(board)
    title = gettext("Today per chair, %(opens)s to %(closes)s") % {
        "opens": clock_time(board.opens_at), "closes": clock_time(board.closes_at)}
    parts = [f'<svg class="today-timeline" viewBox="0 0 1000 {len(board.chairs) * ROW + 28}" role="img" '
             f'aria-labelledby="timeline-title">\n<title id="timeline-title">{escape(title)}</title>']
    for hour in board.hours:
        hx = round(x_of(hour), 1)
        parts.append(f'<line x1="{hx}" x2="{hx}" y1="0" y2="{bottom}" class="timeline-hour"/>'
                     f'<text x="{hx}" y="{bottom + 18}" text-anchor="middle" class="timeline-label">'
                     f'{escape(clock_time(hour))}</text>')
    states: dict[str, str] = {}
    for index, chair in enumerate(board.chairs):
        y = index * ROW + 4
        parts.append(f'<text x="0" y="{y + 20}" class="timeline-chair">{escape(chair.name)}</text>')
        for v in chair.visits:
            width = max((v.ends_at - v.starts_at).total_seconds() / span * WIDTH, 4)
            state = states.get(v.state) or states.setdefault(v.state, display.label(v.state, "front_desk_state"))
            parts.append(f'<rect x="{round(x_of(v.starts_at), 1)}" y="{y}" width="{round(width, 1)}" height="28" '
                         f'rx="3" class="timeline-visit state-{escape(v.state)}"><title>'
                         f'{escape(clock_time(v.starts_at))} {escape(v.patient_name)} · {escape(v.kind)} · '
                         f'{escape(state)}</title></rect>')
    return "\n".join(parts)
