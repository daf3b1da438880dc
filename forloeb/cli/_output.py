"""``--out FILE``: where an export goes, opened before anything is recorded (issue 12, M4).

An export (an audit query, the access log, an access request, a handover
package, a checkpoint) is recorded by the engine, in the access log and for
a handover as an event. The file is therefore opened, and created, before the
engine is asked: a path that cannot be written (a folder that does not
exist, a folder, no permission, a symbolic link, a file that is there
already without ``--force``) is one line and nothing is recorded. A file
created for an export whose engine call then fails is removed again.

The file is created readable and writable by its owner only (0600: it holds
personal data), never through a symbolic link (``O_NOFOLLOW``; a link as
the last part of the path is refused), and an existing file is overwritten
only with ``--force`` (it is emptied just before the export is written, so
a refused export leaves it as it was; it gets 0600 too).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from forloeb.words.catalog import t

from ._context import OneLineError, Settings
from ._render import terminal_safe

F = TypeVar("F", bound=Callable[..., Any])

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in at the last moment must not hang the open


class OutFileError(OneLineError, click.UsageError):
    """A ``--out`` path that cannot be written: one line, exit code 2, nothing recorded."""

    def __init__(self, settings: Settings | None, path: str, why: str, *, key: str = "out_error") -> None:
        self._use(settings)
        super().__init__(t(self.lang, key, path=path, why=why))


def out_options(f: F) -> F:
    """``--out FILE`` and ``--force`` (overwrite an existing file)."""
    f = click.option(
        "--force", is_flag=True, help="With --out: overwrite the file if it exists (never a link)."
    )(f)
    f = click.option(
        "--out",
        metavar="FILE",
        help="Write to this file, created for you alone (0600); it must not exist unless --force.",
    )(f)
    return f


def _why(settings: Settings | None, path: str, err: int) -> str:
    """The reason for an ``errno`` in the invocation's language."""
    lang = settings.lang if settings is not None else "da"
    keys = {
        errno.EEXIST: "out_exists",
        errno.ELOOP: "out_symlink",
        errno.EISDIR: "out_is_dir",
        errno.ENOTDIR: "out_not_folder",
        errno.EACCES: "out_denied",
        errno.EPERM: "out_denied",
        errno.EROFS: "out_read_only",
        errno.ENOSPC: "out_full",
        errno.ENXIO: "out_not_file",
    }
    if err == errno.ENOENT:
        folder = os.path.dirname(os.path.abspath(path))
        return t(lang, "out_no_folder", folder=folder)
    if err in keys:
        return t(lang, keys[err])
    return os.strerror(err)


class Output:
    """Where a command writes: stdout, or the ``--out`` file opened for it."""

    def __init__(self, settings: Settings | None, path: str | None, fd: int | None, created: bool) -> None:
        self.settings = settings
        self.path = path
        self._fd = fd
        self._created = created

    @property
    def to_file(self) -> bool:
        return self.path is not None

    def write(self, text: str) -> None:
        """``text`` into the file (emptied first), or to stdout (escaped on a terminal)."""
        if self._fd is None or self.path is None:
            # Data piped into a file stays exactly the data.
            click.echo(terminal_safe(text) if sys.stdout.isatty() else text, nl=not text.endswith("\n"))
            return
        fd, self._fd = self._fd, None
        try:
            if not self._created:
                with contextlib.suppress(OSError):  # someone else's file: its mode stays
                    os.fchmod(fd, 0o600)
                os.ftruncate(fd, 0)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fd = -1  # the file object owns it now
                fh.write(text)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            self.discard()
            why = _why(self.settings, self.path, exc.errno or 0)
            raise OutFileError(self.settings, self.path, why, key="out_after") from None

    def discard(self) -> None:
        """Close, and remove the file if this command created it (nothing was exported)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        if self._created and self.path is not None:
            self._created = False
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def open_out(settings: Settings | None, path: str | None, force: bool) -> Output:
    """The output of a command: stdout when ``path`` is None, else the file, opened now."""
    if path is None:
        return Output(settings, None, None, False)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise OutFileError(settings, path, _why(settings, path, exc.errno or 0)) from None
    if before is not None:
        if stat.S_ISLNK(before.st_mode):
            raise OutFileError(settings, path, _why(settings, path, errno.ELOOP))
        if stat.S_ISDIR(before.st_mode):
            raise OutFileError(settings, path, _why(settings, path, errno.EISDIR))
        if not force:
            raise OutFileError(settings, path, _why(settings, path, errno.EEXIST))
        if not stat.S_ISREG(before.st_mode):
            raise OutFileError(settings, path, _why(settings, path, errno.ENXIO))
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK
    if before is None:
        flags |= os.O_EXCL  # created here, or refused: never someone's file or link put there meanwhile
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise OutFileError(settings, path, _why(settings, path, exc.errno or 0)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutFileError(settings, path, _why(settings, path, errno.ENXIO))
    return Output(settings, path, fd, created=before is None)


@contextmanager
def output(settings: Settings | None, path: str | None, force: bool) -> Iterator[Output]:
    """:func:`open_out` for the block; a file created here is removed when the block fails."""
    out = open_out(settings, path, force)
    try:
        yield out
    except BaseException:
        out.discard()
        raise
    finally:
        out.close()


__all__ = ["OutFileError", "Output", "open_out", "out_options", "output"]
