"""Languages: which one a request speaks, the compiled catalogues under portal/locale, gettext for Python and Jinja.

The current language lives in a context variable: the request middleware sets it from `?lang=`, the `lang`
cookie or Accept-Language; the staff guard and the privacy centre set it from the signed-in person (a staff
member's own language, a patient's or guardian's preferred language, else the clinic's); mail rendering sets
it for the recipient with `using(...)`. Templates and Python read it through the same `gettext` functions.

    from portal.i18n import _, lazy_gettext
    _("Email is required.")                      # translated now, in the current language
    LABELS = {"booked": lazy_gettext("Booked")}  # module level: translated when shown
"""

import contextvars
import io
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations
from jinja2 import pass_context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE = "en"
# Complete catalogues only (tests/test_i18n.py refuses a shipped catalogue with an untranslated string).
LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "tr": "Türkçe"}
COOKIE = "lang"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=SOURCE)
_region: contextvars.ContextVar[str] = contextvars.ContextVar("region", default="")


def supported(code: str | None) -> str | None:
    """The shipped language for a code such as 'nl', 'nl-BE' or 'de_AT', or None."""
    if not code:
        return None
    lang = code.strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else None


def choose(*candidates: str | None) -> str:
    """The first supported language among the candidates (person, then clinic), else English."""
    for candidate in candidates:
        if lang := supported(candidate):
            return lang
    return SOURCE


def from_accept_language(header: str | None) -> str | None:
    """The best shipped language in an Accept-Language header, by quality; None when none is shipped."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        code, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if (lang := supported(code)) and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else None


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (`make install` compiles them); English is the source itself."""
    if language == SOURCE:
        return NullTranslations()
    found = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    if isinstance(found, Translations):
        return found
    # Not compiled yet (a checkout used before `make install`): compile the checked-in catalogue in memory.
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not source.exists():
        raise LookupError(f"No catalogue for {language!r} in {LOCALE_DIR}.")
    compiled = io.BytesIO()
    with source.open("rb") as po:
        write_mo(compiled, read_po(po, locale=language))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current() -> str:
    return _language.get()


def use(language: str | None, region: str | None = None) -> None:
    """Speak `language` for the rest of this request (or task); an unsupported one means English."""
    _language.set(choose(language))
    if region is not None:
        _region.set(region)


@contextmanager
def using(language: str | None, region: str | None = None):
    """Speak `language` inside the block (mail for one recipient), then return to the request's language."""
    token = _language.set(choose(language))
    region_token = _region.set(region if region is not None else _region.get())
    try:
        yield _language.get()
    finally:
        _language.reset(token)
        _region.reset(region_token)


def babel_locale() -> Locale:
    """The locale for dates and numbers: the language with the clinic's country when CLDR knows that pair."""
    return _babel_locale(_language.get(), _region.get().upper())


@lru_cache(maxsize=64)
def _babel_locale(language: str, region: str) -> Locale:
    if region:
        try:
            return Locale.parse(f"{language}_{region}")
        except (UnknownLocaleError, ValueError):
            pass
    # English without a country: day-month order and a 24-hour clock, as in the clinics we serve.
    return Locale.parse("en_GB" if language == "en" else language)


def first_weekday() -> int:
    """0 = Monday ... 6 = Sunday: where the reader's week starts (month grids, week views)."""
    return babel_locale().first_week_day


def gettext(message: str, **variables) -> str:
    text = translations(_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations(_language.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def pgettext(context: str, message: str, **variables) -> str:
    text = translations(_language.get()).pgettext(context, message)
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, n: int, **variables) -> str:
    text = translations(_language.get()).npgettext(context, singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def N_(message: str) -> str:
    """Mark a source string for extraction; translate it later with `gettext(message)` where it is shown."""
    return message


def lazy_gettext(message: str, **variables) -> LazyProxy:
    """A string translated each time it is shown, for module-level labels and messages."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def lazy_pgettext(context: str, message: str) -> LazyProxy:
    return LazyProxy(pgettext, context, message, enable_cache=False)


def install(environment) -> None:
    """Give a Jinja environment the i18n extension and the current-language callables."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(gettext=_template_gettext, ngettext=_template_ngettext,
                                          pgettext=_template_pgettext, npgettext=_template_npgettext,
                                          newstyle=True)
    environment.globals.update(current_language=current, languages=LANGUAGES, first_weekday=first_weekday,
                               gettext=_markup_gettext, _=_markup_gettext)


# Jinja's newstyle gettext does the %-formatting itself (and escapes the variables); ours only translates, from
# the request's language (a context variable), so they need no template context.
def _template_gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


@pass_context
def _markup_gettext(context, message: str, **variables) -> str:
    """Jinja's newstyle `gettext`/`_` (escaped variables, `%%` for a percent sign) without its alias layer or a
    %-format of a text with nothing to format: a page calls it dozens of times (the navigation alone a dozen)."""
    text = translations(_language.get()).gettext(message)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables if variables or "%" in text else text


def _template_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def _template_pgettext(ctx: str, message: str) -> str:
    return translations(_language.get()).pgettext(ctx, message)


def _template_npgettext(ctx: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(ctx, singular, plural, n)


def _cookie(headers: list, name: str) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _sep, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


def language_middleware(app):
    """ASGI: the request's language from `?lang=` (remembered in a cookie), the cookie, or Accept-Language.

    Before anyone signs in this is the language of the page; a signed-in person's own language replaces it.
    """

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = scope.get("headers") or []
        asked = None
        for pair in (scope.get("query_string") or b"").decode("latin-1").split("&"):
            key, _sep, value = pair.partition("=")
            if key == "lang":
                asked = supported(value)
        accept = next((v.decode("latin-1") for k, v in headers if k == b"accept-language"), None)
        language = asked or supported(_cookie(headers, COOKIE)) or from_accept_language(accept) or SOURCE
        token, region_token = _language.set(language), _region.set("")

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                # Read now, not at the start: a signed-in person's own language has replaced the guess by then.
                headers = [*message.get("headers", []), (b"content-language", _language.get().encode())]
                if asked:
                    cookie = f"{COOKIE}={asked}; Path=/; Max-Age=31536000; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_cookie)
        finally:
            _language.reset(token)
            _region.reset(region_token)

    return middleware
