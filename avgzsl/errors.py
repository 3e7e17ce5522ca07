"""The errors a user can fix: their message names the file, the class or the option, and what to do.

Every such error derives from :class:`UserError`; the CLI prints its message as one line
(the traceback only with ``-v``).  Anything else is a bug and says so.
"""
from __future__ import annotations

import errno
import shutil
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input or machine, with the fix in its message."""


class OptionError(UserError, ValueError):
    """A command-line option or config value that cannot work; the message names it."""


class RunFailed(UserError):
    """A pipeline run failed; the message holds the root causes of its failed steps."""

    def __init__(self, run_id: str, causes: list[str]):
        self.run_id, self.causes = run_id, causes
        super().__init__("; ".join(causes) or f"run {run_id} failed")


class StateError(UserError):
    """The state folder (or a database in it) cannot be written: full, read-only, or a file in the way."""

    @classmethod
    def of(cls, error: BaseException, folder: Path) -> "StateError":
        """One line naming the file or folder and the cause, from an OSError or a (wrapped) SQLite error."""
        where = next((str(e.filename) for e in _chain(error) if isinstance(e, OSError) and e.filename), str(folder))
        blocker = next((p for p in (Path(where), *Path(where).parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None and storage_cause(error, folder) == _ERRNO_CAUSES[errno.ENOTDIR]:
            where = str(blocker)
        hint = (f"; the state folder {folder} must be a writable folder with free space (--home or $AVGZSL_HOME "
                "picks another)") if _under(Path(where), Path(folder)) or _under(Path(folder), Path(where)) else ""
        return cls(f"{where}: {storage_cause(error, folder) or error}{hint}")


def state_failure(error: BaseException, folder: Path) -> StateError | None:
    """The :class:`StateError` an error means, when it is a storage failure of the state folder ``folder``.

    SQLite/SQLAlchemy errors of a full, read-only or unwritable store, and OS errors of
    a full or read-only disk anywhere or of a file under ``folder``; None for others
    (a user's unreadable input file is not the state folder's fault).
    """
    if storage_cause(error, folder) is None:
        return None
    named = [e for e in _chain(error) if isinstance(e, OSError) and e.errno in _ERRNO_CAUSES]
    outside = [e for e in named if e.filename and not _under(Path(str(e.filename)), Path(folder))
               and e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)]
    return None if outside else StateError.of(error, folder)


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


# Free bytes below which a write error is taken for a full disk.
NEARLY_FULL_BYTES = 16 << 20
_SQLITE_CAUSES = (("database or disk is full", "no space left on device"),
                  ("attempt to write a readonly database", "read-only (cannot write the database)"),
                  ("unable to open database file", "cannot create or open the database file"),
                  ("disk i/o error", "disk I/O error"))
_ERRNO_CAUSES = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                 errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied", errno.ENOTDIR: "a file is in the way (not a folder)",
                 errno.EEXIST: "a file is in the way (not a folder)"}


def _chain(error: BaseException | None):
    """The error, its causes and contexts, and what SQLAlchemy wraps (``.orig``)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)
        if isinstance(orig, BaseException):
            yield orig
        error = error.__cause__ or error.__context__


def storage_cause(error: BaseException | str, folder: Path) -> str | None:
    """What a storage failure means for a user ('no space left on device', ...), or None when it is no such failure.

    SQLite says 'disk I/O error' when a write finds the disk full; with (nearly) no free
    space left under ``folder`` that is reported as 'no space left on device'.
    """
    cause = None
    for item in ([error] if isinstance(error, str) else list(_chain(error))):
        if isinstance(item, OSError) and item.errno in _ERRNO_CAUSES:
            cause = _ERRNO_CAUSES[item.errno]
            break
        text = str(item).lower()
        cause = next((meaning for pattern, meaning in _SQLITE_CAUSES if pattern in text), None)
        if cause is None and "no space left on device" in text:
            cause = "no space left on device"
        if cause:
            break
    if cause in ("disk I/O error", "cannot create or open the database file"):
        if _free_bytes(folder) < NEARLY_FULL_BYTES:
            cause = "no space left on device"
    return cause


def _free_bytes(folder: Path) -> int:
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 1 << 62
