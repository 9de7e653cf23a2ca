"""The exam page's teeth as the page prints them: names, field ids, labels and attachment worked out once per request.

A full mouth is 32 teeth of six sites; the page used to look up the same labels and translations per input (about
1,500 of them). Here every translation is read once per request and each tooth is one plain dict the template
prints in a single loop: `entry_teeth` for a draft (the keypad's form fields), `signed_teeth` for a signed exam
(numbers only, read only). A draft's 1,152 fields are the page's hot spot: their cells are built here as one escaped
string per row (as tooth_chart_svg.py builds its teeth) instead of seven template expressions per field, and each
field is named by its tooth's legend plus one of the site labels `entry_labels` prints once per page.
"""

from functools import lru_cache

from markupsafe import Markup, escape

from portal import display
from portal.charts.perio import FLAG_KEYS, typed_attachment
from portal.charts.perio_classification import SITES, attachment, multi_rooted
from portal.i18n import _

FURCATION_TEXT = ("", "I", "II", "III")


def site_names() -> list[str]:
    return [str(display.label(site, "perio_site")) for site in SITES]


def flag_names() -> dict[str, str]:
    return {flag: str(display.label(flag, "perio_flag")) for flag in FLAG_KEYS}


def entry_labels() -> list[tuple[str, str]]:
    """(id, text) of the site names the draft's fields are labelled by, printed once per page: each field's
    accessible name is its tooth's legend followed by one of these (`aria-labelledby="t18 l-d0"`)."""
    names, flags = site_names(), flag_names()
    depth_text, margin_text, flag_text = _("%(site)s probing depth"), _("%(site)s gingival margin"), _(
        "%(site)s: %(what)s")
    labels = [(f"l-d{i}", depth_text % {"site": site}) for i, site in enumerate(names)]
    labels += [(f"l-g{i}", margin_text % {"site": site}) for i, site in enumerate(names)]
    labels += [(f"l-{key}{i}", flag_text % {"site": site, "what": flags[flag]})
               for flag, key in FLAG_KEYS.items() for i, site in enumerate(names)]
    return labels


def entry_teeth(forms: list[tuple[int, object, dict]], label_of, exam_url: str, plain: bool = False) -> list[dict]:
    """(tooth, form as stored or typed, errors) → what the draft's tooth forms print, in the order given. `plain`:
    the page without script, whose depth and margin fields ask for the numeric keyboard (the keypad is not there)."""
    flags = flag_names()
    legend = _("Tooth %(tooth)s")
    teeth = []
    for n, form, errors in forms:
        cals = (typed_attachment(form, i) for i in range(6))
        teeth.append({
            "n": n, "legend": legend % {"tooth": label_of(n)}, "action": f"{exam_url}/teeth/{n}", "errors": errors,
            "depths": _typed_cells(n, "d", tuple(getattr(form, f"d{i}") for i in range(6)), errors, plain),
            "margins": _typed_cells(n, "g", tuple(getattr(form, f"g{i}") for i in range(6)), errors, plain),
            "cals": Markup("".join("<td>" if cal is None else f"<td>{cal}" for cal in cals)),  # numbers only
            "flags": [(flags[flag], _flag_cells(n, key, tuple(bool(getattr(form, f"{key}{i}")) for i in range(6))))
                      for flag, key in FLAG_KEYS.items()],
            "mobility": form.mobility, "furcation": form.furcation, "multi_rooted": multi_rooted(n)})
    return teeth


def _typed_cells(n: int, kind: str, values: tuple[str, ...], errors: dict, plain: bool) -> Markup:
    """A depth (d) or margin (g) row's six cells: id pd-18-0 / gm-18-0 (the keypad's), name, value as typed."""
    prefix, keyboard = ("pd" if kind == "d" else "gm"), (' inputmode="numeric" maxlength="3"' if plain else "")
    cells = []
    for i, value in enumerate(values):
        name = f"{kind}{i}"
        typed = f' value="{value if value.lstrip("-").isdigit() else escape(value)}"' if value else ""  # as typed
        invalid = f' aria-invalid="true" aria-describedby="e-{n}-{name}"' if name in errors else ""
        cells.append(f'<td><input id="{prefix}-{n}-{i}" name="{name}"{typed} aria-labelledby="t{n} l-{name}"'
                     f'{keyboard}{invalid}>')
    return Markup("".join(cells))


@lru_cache(maxsize=4096)
def _flag_cells(n: int, key: str, marks: tuple[bool, ...]) -> Markup:
    """A flag row's six checkboxes (the same few states recur on every page: built once per process)."""
    return Markup("".join(f'<td><input type="checkbox" name="{key}{i}"{" checked" if mark else ""}'
                          f' aria-labelledby="t{n} l-{key}{i}">' for i, mark in enumerate(marks)))


def signed_teeth(rows: list[dict], label_of) -> list[dict]:
    """The stored teeth of a signed exam as text per site: depth, margin, attachment and the marked flags."""
    flags = flag_names()
    teeth = []
    for row in rows:
        depths = row["depths"]
        teeth.append({
            "n": row["tooth"], "name": label_of(row["tooth"]),
            "depths": ["" if d is None else d for d in depths],
            "margins": ["" if d is None and not m else m for d, m in zip(depths, row["margins"])],
            "cals": ["" if d is None else attachment(d, m) for d, m in zip(depths, row["margins"])],
            "flags": [(flag, flags[flag], key, row[flag]) for flag, key in FLAG_KEYS.items()],
            "mobility": row["mobility"],
            "furcation": (FURCATION_TEXT[row["furcation"]] or _("none")) if multi_rooted(row["tooth"]) else None})
    return teeth
