"""click's own messages in the invocation's language (issue 12, L8), and
command-line bytes that are not text (L6).

click words its usage errors itself ("Missing argument 'ID'.", "No such
option: --frm", "'x' is not one of 'md', 'json'.") and looks each text up
through ``gettext`` as it builds it. The root group runs every invocation
inside :func:`click_language`, which names the language of that invocation
(``--lang``, else ``FORLOEB_LANG``, else Danish); the lookups click's modules
make are answered from :data:`DA` when it is Danish, and as click wrote them
otherwise. Only while a ``forloeb`` command runs: another click program in
the same process keeps its English. Help stays English, like the commands'
own help texts; ``Usage:`` opens the usage line in both languages, since it
is the command's syntax.

Undecodable bytes in an argument or a ``FORLOEB_*`` variable (Python keeps
them as lone surrogates) are refused in one line before click parses
anything: nothing downstream can store or print them.
"""

from __future__ import annotations

import contextvars
import gettext
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

from forloeb.words.catalog import t

from ._context import OneLineError

if TYPE_CHECKING:
    from forloeb.engine import Lang

# click's texts (its gettext message ids) in Danish. A text that formats a
# value click names in English ("integer", "file") is worded without it.
DA: Final[Mapping[str, str]] = {
    # errors and how they are shown
    "Error: {message}": "Fejl: {message}",
    "Try '{command} {option}' for help.": "Prøv '{command} {option}' for hjælp.",
    "Aborted!": "Afbrudt!",
    "Invalid value: {message}": "Ugyldig værdi: {message}",
    "Invalid value for {param_hint}: {message}": "Ugyldig værdi for {param_hint}: {message}",
    "Missing argument": "Mangler argumentet",
    "Missing option": "Mangler tilvalget",
    "Missing parameter": "Mangler parameteren",
    "Missing {param_type}": "Mangler {param_type}",
    "Missing parameter: {param_name}": "Mangler parameteren {param_name}",
    "Missing command.": "Mangler en kommando.",
    "No such option {name!r}.": "Tilvalget {name!r} findes ikke.",
    "No such command {name!r}.": "Kommandoen {name!r} findes ikke.",
    "Option {name!r} does not take a value.": "Tilvalget {name!r} tager ingen værdi.",
    "Argument {name!r} takes {nargs} values.": "Argumentet {name!r} tager {nargs} værdier.",
    "Invalid start character for option ({option})": "Ugyldigt første tegn i tilvalget ({option})",
    "Could not open file {filename!r}: {message}": "Kan ikke åbne filen {filename!r}: {message}",
    "unknown error": "ukendt fejl",
    "Value must be an iterable.": "Værdien skal være en liste.",
    # values of the wrong kind
    "{value!r} is not a valid {number_type}.": "{value!r} er ikke et gyldigt tal.",
    "{value} is not in the range {range}.": "{value} er uden for det tilladte område {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} er ikke en gyldig ja/nej-værdi. Gyldige værdier: {states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} er ikke et gyldigt UUID.",
    "{name} {filename!r} does not exist.": "{filename!r} findes ikke.",
    "{name} {filename!r} is a file.": "{filename!r} er en fil.",
    "{name} {filename!r} is a directory.": "{filename!r} er en mappe.",
    "{name} {filename!r} is not readable.": "{filename!r} kan ikke læses.",
    "{name} {filename!r} is not writable.": "{filename!r} kan ikke skrives.",
    "{name} {filename!r} is not executable.": "{filename!r} kan ikke køres.",
    "Choose from:\n\t{choices}": "Vælg mellem:\n\t{choices}",
    # questions
    "Error: invalid input": "Fejl: ugyldigt svar",
    "Error: The two entered values do not match.": "Fejl: De to indtastede værdier er ikke ens.",
    "Repeat for confirmation": "Gentag for at bekræfte",
    "Do you want to continue?": "Vil du fortsætte?",
    "Press any key to continue...": "Tryk på en tast for at fortsætte …",
}

# (singular, plural) -> (Danish singular, Danish plural)
DA_PLURAL: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "Uventet ekstra argument ({args})",
        "Uventede ekstra argumenter ({args})",
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "Tager {nargs} værdier, men fik 1.",
        "Tager {nargs} værdier, men fik {len}.",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "Tilvalget {name!r} kræver en værdi.",
        "Tilvalget {name!r} kræver {nargs} værdier.",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "Mente du {possibility}?",
        "(Mente du en af: {possibilities}?)",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} er ikke {choice}.",
        "{value!r} er ikke en af {choices}.",
    ),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."): (
        "{value!r} passer ikke til formatet {format}.",
        "{value!r} passer ikke til nogen af formaterne {formats}.",
    ),
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): (
        "{len_type} værdier kræves, men fik {len_value}.",
        "{len_type} værdier kræves, men fik {len_value}.",
    ),
}

# The language of the forloeb invocation running now; None outside one.
_LANG: contextvars.ContextVar[str | None] = contextvars.ContextVar("forloeb_click_lang", default=None)


def _gettext(message: str) -> str:
    if _LANG.get() == "da":
        return DA.get(message, message)
    return gettext.gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    if _LANG.get() == "da" and (singular, plural) in DA_PLURAL:
        one, many = DA_PLURAL[singular, plural]
        return one if n == 1 else many
    return gettext.ngettext(singular, plural, n)


def _install() -> None:
    """Route the lookups of click's modules through this catalog (once, on import)."""
    for module in (
        click.core,
        click.decorators,
        click.exceptions,
        click.formatting,
        click.parser,
        click.termui,
        click.types,
    ):
        if hasattr(module, "_"):
            setattr(module, "_", _gettext)  # noqa: B010 (a name mypy does not see on the module)
        if hasattr(module, "ngettext"):
            setattr(module, "ngettext", _ngettext)  # noqa: B010


_install()

_LANG_ARG = re.compile(r"^--lang=(.*)$")


def language_of(args: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language an invocation asks for: its last ``--lang``, else FORLOEB_LANG, else Danish.

    Read before click parses, so that click's own errors about the arguments
    (which come before any option's value is known) are in that language too."""
    env = os.environ if environ is None else environ
    chosen = env.get("FORLOEB_LANG") or "da"
    items = list(args)
    for i, arg in enumerate(items):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(items):
            chosen = items[i + 1]
        elif (match := _LANG_ARG.match(arg)) is not None:
            chosen = match.group(1)
    return chosen if chosen in ("da", "en") else "da"


@contextmanager
def click_language(args: Sequence[str]) -> Iterator[str]:
    """Within the block click speaks the invocation's language (the language is yielded)."""
    lang = language_of(args)
    token = _LANG.set(lang)
    try:
        yield lang
    finally:
        _LANG.reset(token)


# Lone surrogates: how Python keeps bytes of argv and environ that are not UTF-8.
_UNDECODED = re.compile("[\ud800-\udfff]")


class NotText(OneLineError, click.UsageError):
    """An argument or a FORLOEB_* variable that is not valid UTF-8 (exit code 2)."""

    def __init__(self, lang: Lang, key: str, **params: object) -> None:
        self.lang = lang
        super().__init__(t(lang, key, **params))


def refuse_undecodable(args: Sequence[str], lang: Lang, environ: Mapping[str, str] | None = None) -> None:
    """NotText for the first argument or FORLOEB_* variable holding bytes that are not UTF-8."""
    for n, arg in enumerate(args, start=1):
        if _UNDECODED.search(arg):
            raise NotText(lang, "not_utf8_arg", n=n)
    env = os.environ if environ is None else environ
    for name, value in sorted(env.items()):
        if name.startswith("FORLOEB_") and _UNDECODED.search(value):
            raise NotText(lang, "not_utf8_env", name=name)


__all__ = ["DA", "DA_PLURAL", "NotText", "click_language", "language_of", "refuse_undecodable"]
