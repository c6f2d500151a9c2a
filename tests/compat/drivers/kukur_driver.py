"""kukur's PI Web API source (``piwebapi-da``), unchanged, against the emulator:
``python kukur_driver.py DATA_ARCHIVE_URI START END``."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from common import run
from kukur import SeriesSearch, SeriesSelector
from kukur.source.piwebapi_da import from_config

URI, START, END = (
    sys.argv[1],
    datetime.fromisoformat(sys.argv[2]),
    datetime.fromisoformat(sys.argv[3]),
)
ODD = sys.argv[4]  # a tag name with spaces, commas, quotes, backslashes, unicode
# a small MaxReturnedItemsPerCall makes the source page (it pages by it)
source = from_config({"data_archive_uri": URI, "max_returned_items_per_call": 500})


def search() -> Any:
    found = list(source.search(SeriesSearch("pi")))
    return sorted(m.series.tags["series name"] for m in found)


def metadata() -> Any:
    cdm = source.get_metadata(SeriesSelector("pi", "CDM158"))
    cdt = source.get_metadata(SeriesSelector("pi", "CDT158"))
    return {
        "cdm_dictionary": sorted(cdm.get_field_by_name("dictionary").mapping.items()),
        "cdt_unit": cdt.get_field_by_name("unit"),
        "cdt_description": cdt.get_field_by_name("description"),
    }


def data(tag: str) -> Any:
    table = source.get_data(SeriesSelector("pi", tag), START, END)
    return [
        [ts.isoformat(), value, quality]
        for ts, value, quality in zip(
            table["ts"].to_pylist(),
            table["value"].to_pylist(),
            table["quality"].to_pylist(),
            strict=True,
        )
    ]


run(
    {
        "search": search,
        "metadata": metadata,
        "data_float": lambda: data("CDT158"),
        "data_digital": lambda: data("BA:PHASE.1"),
        "data_odd_name": lambda: data(ODD),
    }
)
