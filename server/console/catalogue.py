"""The console's message catalogue: which strings need translating, and compiling .po to .mo.

`python -m server.console.catalogue` recompiles every shipped .po into its .mo (babel, a
test dependency); the tests check that every string the templates and pages pass through
gettext has a French translation and that each shipped .mo matches its .po.
"""

from __future__ import annotations

import re
from pathlib import Path

from server.console.i18n import LOCALE_DIR

_HERE = Path(__file__).parent
# _("...") in templates; N_("...") in the pages' modules (strings templates translate).
_CALL = re.compile(r"""\b_\(\s*(["'])((?:(?!\1).)+)\1\s*\)""")
_MARKED = re.compile(r"""\bN_\(\s*(["'])((?:(?!\1).)+)\1\s*\)""")


def messages() -> set[str]:
    """Every message id the console passes through gettext."""
    found: set[str] = set()
    for path in sorted((_HERE / "templates").glob("*.html")):
        found |= {m.group(2) for m in _CALL.finditer(path.read_text("utf-8"))}
    for path in sorted(_HERE.glob("*.py")):
        if path.name != "catalogue.py":
            found |= {m.group(2) for m in _MARKED.finditer(path.read_text("utf-8"))}
    return found


def compile_all() -> list[Path]:
    """Compile each locale's accord.po into accord.mo; the paths written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/accord.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        with po.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)
        written.append(po.with_suffix(".mo"))
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path)
