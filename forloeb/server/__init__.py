"""The HTTP API (``pip install 'forloeb[server]'``): :func:`create_app`, an ASGI
application (FastAPI) wrapping one :class:`~forloeb.Engine`; ``forloeb serve``
runs it on uvicorn.

Imported only when serving: the base install and ``forloeb --help`` never
import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import create_app
    from ._config import ServerConfig

__all__ = ["ServerConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import _app, _config
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            f"the HTTP API needs the server extra: pip install 'forloeb[server]' ({exc.name} is missing)"
        ) from exc
    return _app.create_app if name == "create_app" else _config.ServerConfig
