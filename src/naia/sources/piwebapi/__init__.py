"""PI Web API source (connectorType ``PIWebApi``): bulk recorded reads over REST."""

from naia.sources.piwebapi.settings import PiWebApiSettings, RetrySettings
from naia.sources.piwebapi.source import PiWebApiSource

__all__ = ["PiWebApiSettings", "PiWebApiSource", "RetrySettings"]
