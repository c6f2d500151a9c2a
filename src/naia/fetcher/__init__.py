"""Fetcher: a member of the fleet that reads work units from the source (``naia fetch``)."""

from naia.fetcher.fetcher import Fetcher, FetcherConfig

__all__ = ["Fetcher", "FetcherConfig"]
