"""The errors a user can fix: their message names the file, the class or the option, and what to do.

Every such error derives from :class:`UserError`; the CLI prints its message as one line
(the traceback only with ``-v``).  Anything else is a bug and says so.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or machine, with the fix in its message."""


class OptionError(UserError, ValueError):
    """A command-line option or config value that cannot work; the message names it."""


class RunFailed(UserError):
    """A pipeline run failed; the message holds the root causes of its failed steps."""

    def __init__(self, run_id: str, causes: list[str]):
        self.run_id, self.causes = run_id, causes
        super().__init__("; ".join(causes) or f"run {run_id} failed")
