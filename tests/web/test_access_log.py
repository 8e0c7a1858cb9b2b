"""The access log keeps method, path and status, and never a query string."""

from __future__ import annotations

import logging
import logging.config

from shouhu.web.access_log import QueryStringScrubber, log_config


def test_a_query_string_never_reaches_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/registry/persons?id_number=110101198005171234", "1.1", 200),
        None,
    )
    assert QueryStringScrubber().filter(record)
    line = record.getMessage()
    assert "110101198005171234" not in line
    assert '"GET /registry/persons?… HTTP/1.1" 200' in line


def test_uvicorns_configuration_applies_it() -> None:
    config = log_config()
    logging.config.dictConfig(config)
    handler = next(h for h in logging.getLogger("uvicorn.access").handlers)
    assert any(isinstance(f, QueryStringScrubber) for f in handler.filters)
