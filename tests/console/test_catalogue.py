"""The console's strings all go through one catalogue, French has each, .mo matches .po."""

from __future__ import annotations

import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.console.catalogue import messages
from server.console.i18n import LOCALE_DIR, translations


def test_every_message_has_a_french_translation():
    found = messages()
    assert "Sign in" in found and "The two passwords differ." in found  # the scan works
    with (LOCALE_DIR / "fr/LC_MESSAGES/accord.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string}
    assert not found - translated, sorted(found - translated)


def test_shipped_mo_matches_its_po():
    po = LOCALE_DIR / "fr/LC_MESSAGES/accord.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert po.with_suffix(".mo").read_bytes() == compiled.getvalue(), (
        "run: python -m server.console.catalogue")
    assert translations("fr").gettext("Sign out") == "Se déconnecter"
