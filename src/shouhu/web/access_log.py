"""The access log without query strings: they can carry identity numbers (DESIGN §4)."""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG


class QueryStringScrubber(logging.Filter):
    """Cut the query string from uvicorn's access records (method, path and status remain)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument; never drop the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):  # noqa: PLR2004 - (client, method, path, …)
            path, _, query = args[2].partition("?")
            if query:
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's default logging configuration with the scrubber on the access handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": QueryStringScrubber}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config
