"""What an operator configures about the HTTP API (environment or arguments)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from forloeb.engine import InvalidData, Lang

DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: far above any engagement's data (the engine caps payloads)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidData(
                f"{value!r} is not an IP address or network",
                detail_da=f"{value!r} er ikke en IP-adresse eller et netværk",
            ) from None
    return tuple(out)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class ServerConfig:
    """The HTTP API's settings.

    ``trusted_header`` (e.g. ``X-Forwarded-User``) names the staff login an
    authenticating reverse proxy puts on each request (single sign-on); it is
    honoured only from ``trusted_proxies`` (addresses or networks) and only
    when both are set: off by default. ``cors_origins``: origins allowed to
    call the API from a browser (none by default: no CORS headers at all).
    """

    max_body_bytes: int = DEFAULT_MAX_BODY
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    trusted_header: str | None = None
    default_lang: Lang = "da"
    networks: tuple[Network, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1024:
            raise InvalidData(
                "max_body_bytes must be at least 1024",
                detail_da="den største tilladte anmodning skal være mindst 1024 byte",
            )
        object.__setattr__(self, "networks", _networks(self.trusted_proxies))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """From ``FORLOEB_HTTP_MAX_BODY``, ``FORLOEB_HTTP_CORS_ORIGINS``,
        ``FORLOEB_HTTP_TRUSTED_PROXIES``, ``FORLOEB_HTTP_TRUSTED_HEADER`` and
        ``FORLOEB_LANG`` (the default language of problem details)."""
        env = os.environ if environ is None else environ
        lang = env.get("FORLOEB_LANG", "da")
        return cls(
            max_body_bytes=int(env.get("FORLOEB_HTTP_MAX_BODY", DEFAULT_MAX_BODY)),
            cors_origins=_split(env.get("FORLOEB_HTTP_CORS_ORIGINS")),
            trusted_proxies=_split(env.get("FORLOEB_HTTP_TRUSTED_PROXIES")),
            trusted_header=env.get("FORLOEB_HTTP_TRUSTED_HEADER") or None,
            default_lang=cast(Lang, lang if lang in ("da", "en") else "da"),
        )

    def trusts(self, host: str | None) -> bool:
        """True when ``host`` (the peer's address) is a configured proxy."""
        if not self.trusted_header or not self.networks or not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


__all__ = ["DEFAULT_MAX_BODY", "ServerConfig"]
