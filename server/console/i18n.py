"""One gettext catalogue for every user-facing string of the console: English and French.

The compiled catalogues (locale/<lang>/LC_MESSAGES/accord.mo) ship as package data; a test
checks they match their .po sources.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from aiohttp import web

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "fr")
LANG_COOKIE = "accord_lang"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of a language (English: the source strings themselves)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation("accord", localedir=LOCALE_DIR, languages=[lang])


def N_(message: str) -> str:
    """Mark a string for the catalogue where it is defined; templates translate it."""
    return message


def language_of(request: web.Request) -> str:
    """The language chosen by cookie, else the first supported one Accept-Language names."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"
