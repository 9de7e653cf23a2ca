"""Mail templates: HTML and plain text under templates/mail/, in the patient's language when one exists.

Each message kind is `mail/<kind>.<lang>.txt` and `mail/<kind>.<lang>.html`; the text template sets the
subject with `{% set subject = ... %}`. A language without a translation falls back to English.
The web pages' filters (`when`, `when_utc`, `day`, `label`, portal/display.py) work here too; a mail has no
signed-in reader, so a template that shows an instant is rendered with `time_zone=` the clinic's zone.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from portal import display
from portal.settings import PROJECT_ROOT

FALLBACK = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


@lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir / "mail"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    env.filters.update(display.FILTERS)
    return env


def language_for(kind: str, preferred: str | None, templates_dir: Path = PROJECT_ROOT / "templates") -> str:
    """The patient's language when this kind is translated into it, else English."""
    lang = (preferred or FALLBACK).split("-")[0].lower()
    return lang if (templates_dir / "mail" / f"{kind}.{lang}.txt").exists() else FALLBACK


def render(kind: str, preferred_language: str | None, templates_dir: Path = PROJECT_ROOT / "templates",
           **context) -> Rendered:
    lang = language_for(kind, preferred_language, templates_dir)
    env = _environment(templates_dir)
    text_template = env.get_template(f"{kind}.{lang}.txt")
    subject = str(text_template.make_module(context).subject).strip()
    html = ""
    if (templates_dir / "mail" / f"{kind}.{lang}.html").exists():  # text messages (SMS, WhatsApp) have none
        html = env.get_template(f"{kind}.{lang}.html").render({**context, "subject": subject})
    return Rendered(subject=subject, text=text_template.render(context), html=html, language=lang)
