"""Route this package's log records to the caller's logger (dbt's, in the dbt Python models)."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("segmentation")


def forward_logs(emit: Callable[[str, bool], None]) -> None:
    """Send this package's log records to `emit(message, is_warning)` (dbt's logger, say)."""

    class _Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            emit(f"segmentation: {record.getMessage()}", record.levelno >= logging.WARNING)

    log.handlers = [h for h in log.handlers if type(h).__name__ != "_Forward"]
    log.addHandler(_Forward())
    log.setLevel(logging.INFO)
    log.propagate = False  # the handler above is the one place these records go
