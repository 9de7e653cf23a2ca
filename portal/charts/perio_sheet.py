"""The exam page's teeth as the page prints them: names, field ids, labels and attachment worked out once per request.

A full mouth is 32 teeth of six sites; the page used to look up the same labels and translations per input (about
1,500 of them). Here every translation is read once per request and each tooth is one plain dict the template
prints in a single loop: `entry_teeth` for a draft (the keypad's form fields), `signed_teeth` for a signed exam
(numbers only, read only).
"""

from portal import display
from portal.charts.perio import FLAG_KEYS, typed_attachment
from portal.charts.perio_classification import SITES, attachment, multi_rooted
from portal.i18n import _

FURCATION_TEXT = ("", "I", "II", "III")


def site_names() -> list[str]:
    return [str(display.label(site, "perio_site")) for site in SITES]


def flag_names() -> dict[str, str]:
    return {flag: str(display.label(flag, "perio_flag")) for flag in FLAG_KEYS}


def entry_teeth(forms: list[tuple[int, object, dict]], label_of, exam_url: str) -> list[dict]:
    """(tooth, form as stored or typed, errors) → what the draft's tooth forms print, in the order given."""
    names, flags = site_names(), flag_names()
    depth_text, margin_text = _("%(tooth)s %(site)s probing depth"), _("%(tooth)s %(site)s gingival margin")
    flag_text = _("%(tooth)s %(site)s: %(what)s")
    teeth = []
    for n, form, errors in forms:
        name = label_of(n)
        sites = []
        for i, site in enumerate(names):
            words = {"tooth": name, "site": site}
            cal = typed_attachment(form, i)
            sites.append({"d": getattr(form, f"d{i}"), "g": getattr(form, f"g{i}"), "cal": "" if cal is None else cal,
                          "d_label": depth_text % words, "g_label": margin_text % words,
                          "d_error": f"d{i}" in errors, "g_error": f"g{i}" in errors})
        teeth.append({
            "n": n, "name": name, "action": f"{exam_url}/teeth/{n}", "errors": errors, "sites": sites,
            "flags": [{"key": key, "name": flags[flag],
                       "cells": [(getattr(form, f"{key}{i}"), flag_text % {"tooth": name, "site": site,
                                                                          "what": flags[flag]})
                                 for i, site in enumerate(names)]} for flag, key in FLAG_KEYS.items()],
            "mobility": form.mobility, "furcation": form.furcation, "multi_rooted": multi_rooted(n)})
    return teeth


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
