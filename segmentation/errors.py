"""The error for input a user can fix (their order lines, their settings), printed as one line.

dbt-duckdb reports any exception raised by a Python model with
`traceback.format_exception(err)`, a Python traceback above the message. For a problem with
the user's data the traceback only hides the one line that matters, so `InputError` hides its
own traceback from Python-level readers (the `traceback` module, hence dbt-duckdb), and dbt
prints `segmentation.errors.InputError: <message>` alone. The interpreter still records the
traceback internally (C level): an uncaught InputError outside dbt and pytest's reports show it
in full, so a bug behind such an error can still be traced.
"""

from __future__ import annotations

from types import TracebackType


class InputError(ValueError):
    """Bad input or settings: the message says what is wrong and what to do about it."""

    @property  # type: ignore[override]
    def __traceback__(self) -> TracebackType | None:
        """None: the traceback is left out of formatted reports (see the module docstring)."""
        return None

    @__traceback__.setter
    def __traceback__(self, value: TracebackType | None) -> None:
        """Ignored: `raise ... from`, `with_traceback` and the interpreter set it at C level."""
