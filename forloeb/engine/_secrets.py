"""Secrets in URLs kept out of messages and log lines.

A database URL may carry its password in the query (``?password=…``, which
libpq accepts) as well as in the user part; a webhook URL may carry a user
and password, or a token in its query (Slack, Teams, signed links). Error
messages and log lines end up in terminals, files and ticket systems, so
whatever text the engine shows or logs goes through :func:`mask_secrets`
first: the user part's password and the values of token-like query
parameters become ``***``.

A leaf: the standard library only (the log set-up imports it).
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "***"

# Query parameters whose value is a secret (matched whole, any case): the
# password forms libpq and drivers accept, and the names tokens travel under.
SECRET_PARAMS: Final[frozenset[str]] = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "sslpassword",
        "token",
        "access_token",
        "auth",
        "key",
        "api_key",
        "apikey",
        "secret",
        "client_secret",
        "signature",
        "sig",
    }
)

# scheme://user:password@ -> scheme://user:***@ (the user stays: it says which account)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:?#]*):(?P<pw>[^\s/@?#]*)@")
# ?name=value or &name=value (also ;name=value) with a secret name
_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z_][A-Za-z0-9_\-]*)=)(?P<value>[^\s&;#'\"]*)")


def mask_secrets(text: str) -> str:
    """``text`` with every URL's password and secret query values shown as ``***``."""
    if "@" not in text and "=" not in text:
        return text  # nothing that could hold one (the common case, and cheap)
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@" if m["pw"] != MASK else m[0], text)
    return _PARAM.sub(
        lambda m: f"{m['head']}{MASK}" if m["name"].lower() in SECRET_PARAMS and m["value"] else m[0], text
    )


__all__ = ["MASK", "SECRET_PARAMS", "mask_secrets"]
