"""Mail templates: HTML and plain text under templates/mail/, one per message, in the recipient's language.

Each message kind is `mail/<kind>.txt` (which sets the subject with `{% set subject = _(...) %}`) and, for
mail, `mail/<kind>.html`; text messages (SMS, WhatsApp) have no HTML. The strings are gettext strings translated
by the catalogues in portal/locale: the language is the recipient's preferred one when shipped, else the
clinic's, else English (portal/i18n.py).
The web pages' filters (`when`, `when_utc`, `day`, `label`, portal/display.py) work here too; a mail has no
signed-in reader, so a template that shows an instant is rendered with `time_zone=` the clinic's zone.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from portal import display, i18n
from portal.settings import PROJECT_ROOT

FALLBACK = i18n.SOURCE


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
    i18n.install(env)
    env.filters.update(display.FILTERS)
    return env


def language_for(preferred: str | None, clinic_language: str | None = None) -> str:
    """The recipient's language when we ship it, else the clinic's, else English."""
    return i18n.choose(preferred, clinic_language)


def render(kind: str, preferred_language: str | None, templates_dir: Path = PROJECT_ROOT / "templates", *,
           clinic_language: str | None = None, region: str | None = None, **context) -> Rendered:
    lang = language_for(preferred_language, clinic_language)
    env = _environment(templates_dir)
    with i18n.using(lang, region or ""):
        text_template = env.get_template(f"{kind}.txt")
        subject = str(text_template.make_module({**context, "lang": lang}).subject).strip()
        html = ""
        if (templates_dir / "mail" / f"{kind}.html").exists():  # text messages (SMS, WhatsApp) have none
            html = env.get_template(f"{kind}.html").render({**context, "subject": subject, "lang": lang})
        text = text_template.render({**context, "lang": lang})
    return Rendered(subject=subject, text=text, html=html, language=lang)
