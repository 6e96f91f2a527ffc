"""Help texts: every command and option has a line, every group an example, no internal paths."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from server.cli import _parser


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def test_every_command_and_option_has_help_and_every_group_an_example():
    missing, no_example = [], []
    for path, parser in _walk(_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            if isinstance(action, argparse._SubParsersAction):
                listed = {c.dest for c in action._choices_actions}
                missing += [" ".join((*path, n)) for n in action.choices if n not in listed]
                for choice in action._choices_actions:
                    if not (choice.help or "").strip():
                        missing.append(" ".join((*path, choice.dest)))
                continue
            if not (action.help or "").strip():
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
        if _subcommands(parser) is not None and "example" not in (parser.epilog or ""):
            no_example.append(" ".join(path) or "accord")
    assert not missing, f"no help: {missing}"
    assert not no_example, f"no example: {no_example}"


def test_help_pages_show_no_internal_paths_and_tlp_max_lists_its_values():
    for path, parser in _walk(_parser()):
        text = parser.format_help()
        assert not re.search(r"\b(clients|server|schemas)/\w+\.py\b", text), (path, text)
    feed_create = dict(_walk(_parser()))[("feed", "create")].format_help()
    assert "--tlp-max {clear,green,amber,amber+strict,red}" in feed_create
