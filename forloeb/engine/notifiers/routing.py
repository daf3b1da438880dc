"""Who hears about what, on which channel: routing rules as data.

Which team's escalations go to which leader, and whether a webhook also hears
about them, changes with the organisation — so it lives in configuration (a
TOML or JSON file loaded into a dict), not in code. Every matching route
applies: a catch-all ``{"channel": "log"}`` keeps a trail beside the real ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from .._errors import InvalidData
from .base import Notification, Notifier
from .log import LogNotifier
from .smtp import SmtpNotifier
from .webhook import WebhookNotifier


@dataclass(frozen=True, kw_only=True)
class Route:
    """Send on ``channel`` to ``recipient`` when every condition that is not None matches.

    ``recipient=None`` means "whoever the reminder is for" (the assignee or the
    supervisor the engine names); a fixed recipient sends to that address instead.
    """

    channel: str
    recipient: str | None = None
    team: str | None = None
    workflow: str | None = None
    level: int | None = None
    recipient_role: str | None = None

    def matches(
        self,
        *,
        team: str | None = None,
        workflow: str | None = None,
        level: int | None = None,
        recipient_role: str | None = None,
    ) -> bool:
        conditions = (
            (self.team, team),
            (self.workflow, workflow),
            (self.level, level),
            (self.recipient_role, recipient_role),
        )
        return all(want is None or want == got for want, got in conditions)


_ROUTE_KEYS: Final = frozenset(f.name for f in fields(Route))
_CONFIG_KEYS: Final = frozenset({"notifiers", "routes", "address_book"})


class Router:
    """Routes plus the notifiers they name, and the address book for staff ids.

    Every route's channel must have a notifier, checked here: a typo in a
    config file fails at start-up, not when the first escalation is due.
    A ``"log"`` channel is always available (a :class:`LogNotifier`) unless
    one is given.
    """

    def __init__(
        self,
        routes: Iterable[Route],
        notifiers: Mapping[str, Notifier],
        *,
        address_book: Mapping[str, str] | None = None,
    ) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.notifiers: dict[str, Notifier] = {"log": LogNotifier(), **notifiers}
        self.address_book: dict[str, str] = dict(address_book or {})
        for name, notifier in self.notifiers.items():
            if not isinstance(notifier, Notifier):
                raise InvalidData(
                    f"notifier {name!r} has no send(notification) method",
                    detail_da=f"notifier {name!r} har ingen send(notification)-metode",
                )
        missing = sorted({r.channel for r in self.routes} - set(self.notifiers))
        if missing:
            raise InvalidData(
                f"routes name channel(s) without a notifier: {', '.join(missing)}",
                detail_da=f"ruterne nævner kanal(er) uden en notifier: {', '.join(missing)}",
            )

    def targets(
        self,
        *,
        team: str | None = None,
        workflow: str | None = None,
        level: int | None = None,
        recipient_role: str | None = None,
        recipient: str | None = None,
    ) -> list[tuple[str, str]]:
        """(channel, recipient) for every matching route, in route order, without repeats.

        A route without a recipient uses ``recipient``; a staff id found in the
        address book becomes that address. When neither the route nor the
        caller names anyone the pair carries ``""``: the log channel logs it,
        a webhook posts to its own URL, and e-mail fails permanently — so an
        unaddressable escalation is visible in the outbox instead of dropped.
        """
        found: list[tuple[str, str]] = []
        for route in self.routes:
            if not route.matches(team=team, workflow=workflow, level=level, recipient_role=recipient_role):
                continue
            who = route.recipient if route.recipient is not None else (recipient or "")
            pair = (route.channel, self.resolve(who))
            if pair not in found:  # two rules naming the same target must not send twice
                found.append(pair)
        return found

    def resolve(self, recipient: str) -> str:
        """The address for a staff id (``"hanne.l"``), or ``recipient`` unchanged."""
        return self.address_book.get(recipient, recipient)

    def notifier(self, channel: str) -> Notifier:
        try:
            return self.notifiers[channel]
        except KeyError:
            raise InvalidData(
                f"no notifier for channel {channel!r}", detail_da=f"ingen notifier til kanalen {channel!r}"
            ) from None

    def send(self, notification: Notification) -> None:
        """Deliver on the notification's channel (the outbox's one call per row)."""
        self.notifier(notification.channel).send(notification)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        notifiers: Mapping[str, Notifier] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Router:
        """Build from a plain dict, as read from a TOML or JSON file::

            {"notifiers": {"email": {"url": "smtp://localhost:2525?from=a@b.dk"},
                           "webhook": {"url": "https://…", "secret_env": "FORLOEB_WEBHOOK_SECRET"}},
             "routes": [{"team": "social", "level": 2, "channel": "email",
                         "recipient": "leder@example.dk"},
                        {"channel": "log"}],
             "address_book": {"hanne.l": "hanne@example.dk"}}

        A notifier's ``type`` (email/smtp, webhook, log) defaults to its name.
        Secrets come from the environment (``password_env``, ``secret_env``)
        so that the file can be shared. ``notifiers`` adds ready-made ones
        (an app's own channels). Unknown keys are errors: a misspelt
        condition would otherwise match everything.
        """
        env = os.environ if environ is None else environ
        _no_unknown_keys("config", config, _CONFIG_KEYS, what_da="konfigurationen")
        built: dict[str, Notifier] = {}
        for name, settings in _mapping("notifiers", config.get("notifiers", {})).items():
            built[name] = _build_notifier(name, _mapping(f"notifier {name!r}", settings), env)
        built.update(notifiers or {})
        routes = [_build_route(i, item) for i, item in enumerate(_list("routes", config.get("routes", [])))]
        book = _mapping("address_book", config.get("address_book", {}))
        for key, value in book.items():
            if not isinstance(value, str):
                raise InvalidData(
                    f"address_book[{key!r}] must be a string, not {value!r}",
                    detail_da=f"address_book[{key!r}] skal være en tekst, ikke {value!r}",
                )
        return cls(routes, built, address_book=book)


def _mapping(what: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidData(
            f"{what} must be a table/object, not {type(value).__name__}",
            detail_da=f"{what} skal være en tabel/et objekt, ikke {type(value).__name__}",
        )
    return value


def _list(what: str, value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidData(
            f"{what} must be a list, not {type(value).__name__}",
            detail_da=f"{what} skal være en liste, ikke {type(value).__name__}",
        )
    return list(value)


def _no_unknown_keys(
    what: str, value: Mapping[str, Any], known: frozenset[str], *, what_da: str | None = None
) -> None:
    unknown = set(value) - known
    if unknown:
        raise InvalidData(
            f"unknown key(s) in {what}: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}",
            detail_da=f"ukendt(e) nøgle(r) i {what_da or what}: {', '.join(sorted(unknown))}; "
            f"kendte: {', '.join(sorted(known))}",
        )


def _secret(what: str, settings: Mapping[str, Any], key: str, env: Mapping[str, str]) -> str | None:
    """``<key>`` inline, or the variable named by ``<key>_env``."""
    if f"{key}_env" in settings:
        var = settings[f"{key}_env"]
        if var not in env:
            raise InvalidData(
                f"{what}: environment variable {var} (for the {key}) is not set",
                detail_da=f"{what}: miljøvariablen {var} (til {key}) er ikke sat",
            )
        return env[var]
    value = settings.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidData(f"{what}: {key} must be a string", detail_da=f"{what}: {key} skal være en tekst")
    return value


def _timeout(what: str, settings: Mapping[str, Any], default: float) -> float:
    value = settings.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidData(
            f"{what}: timeout must be a number of seconds, not {value!r}",
            detail_da=f"{what}: timeout skal være et antal sekunder, ikke {value!r}",
        )
    return float(value)


def _build_notifier(name: str, settings: Mapping[str, Any], env: Mapping[str, str]) -> Notifier:
    what = f"notifier {name!r}"
    kind = settings.get("type", name)
    if kind in ("email", "smtp"):
        _no_unknown_keys(what, settings, frozenset({"type", "url", "password", "password_env"}))
        url = settings.get("url")
        if not isinstance(url, str):
            raise InvalidData(
                f"{what}: needs a url (smtp://host:port?from=…)",
                detail_da=f"{what}: mangler en url (smtp://host:port?from=…)",
            )
        return SmtpNotifier.from_url(url, password=_secret(what, settings, "password", env))
    if kind == "webhook":
        _no_unknown_keys(what, settings, frozenset({"type", "url", "secret", "secret_env", "timeout"}))
        url = settings.get("url")
        if not isinstance(url, str):
            raise InvalidData(f"{what}: needs a url", detail_da=f"{what}: mangler en url")
        secret = _secret(what, settings, "secret", env)
        if not secret:
            raise InvalidData(
                f"{what}: needs a secret (secret_env names the environment variable)",
                detail_da=f"{what}: mangler en secret (secret_env angiver miljøvariablen)",
            )
        return WebhookNotifier(url, secret=secret, timeout=_timeout(what, settings, 10.0))
    if kind == "log":
        _no_unknown_keys(what, settings, frozenset({"type", "level"}))
        return LogNotifier(level=str(settings.get("level", "info")))
    raise InvalidData(
        f"{what}: unknown type {kind!r} (email, webhook or log)",
        detail_da=f"{what}: ukendt type {kind!r} (email, webhook eller log)",
    )


def _build_route(index: int, item: object) -> Route:
    what = f"routes[{index}]"
    spec = _mapping(what, item)
    _no_unknown_keys(what, spec, _ROUTE_KEYS)
    if not isinstance(spec.get("channel"), str):
        raise InvalidData(f"{what}: needs a channel", detail_da=f"{what}: mangler en channel")
    for key in ("recipient", "team", "workflow", "recipient_role"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise InvalidData(
                f"{what}: {key} must be a string, not {spec[key]!r}",
                detail_da=f"{what}: {key} skal være en tekst, ikke {spec[key]!r}",
            )
    level = spec.get("level")
    # bool is an int in Python: `level = true` in TOML is a mistake, not level 1.
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise InvalidData(
            f"{what}: level must be a whole number, not {level!r}",
            detail_da=f"{what}: level skal være et helt tal, ikke {level!r}",
        )
    return Route(**spec)
