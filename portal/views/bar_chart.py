"""The dashboard's bar chart as SVG, drawn in Python: it is on every load of the page staff open most, and its sixty
escaped numbers cost Jinja more than the rest of the page. The same bars in the same language are drawn once."""

from functools import lru_cache

from markupsafe import Markup, escape

STEP, BAR_WIDTH, PLOT_HEIGHT, BASELINE = 80, 60, 100, 130  # a bar's slot, its width, the tallest bar, its foot


def bar_chart(bars: list[dict], title: str, title_id: str = "chart-title") -> Markup:
    """Bars of `{"label", "count"}`, the tallest `PLOT_HEIGHT` high, each with its count above and label below."""
    return _draw(tuple((str(b["label"]), int(b["count"])) for b in bars), str(title), title_id)


@lru_cache(maxsize=256)
def _draw(bars: tuple[tuple[str, int], ...], title: str, title_id: str) -> Markup:
    tallest = max([count for _, count in bars] + [1])
    parts = [f'<svg class="bar-chart" viewBox="0 0 {len(bars) * STEP} 160" role="img" aria-labelledby="{title_id}">',
             f'<title id="{title_id}">{escape(title)}</title>']
    for index, (label, count) in enumerate(bars):
        height = round(count / tallest * PLOT_HEIGHT, 1)
        top, left, middle, label = round(BASELINE - height, 1), index * STEP + 10, index * STEP + STEP // 2, escape(label)
        parts.append(
            f'<rect x="{left}" y="{top}" width="{BAR_WIDTH}" height="{height}" class="bar">'
            f'<title>{label}: {count}</title></rect>'
            f'<text x="{middle}" y="{round(top - 5, 1)}" text-anchor="middle" class="bar-value">{count}</text>'
            f'<text x="{middle}" y="150" text-anchor="middle" class="bar-label">{label}</text>')
    parts.append("</svg>")
    return Markup("\n".join(parts))
