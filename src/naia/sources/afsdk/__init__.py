"""PI AF SDK source (connectorType ``PIAfSdk``): Windows-only, proven on any OS with a typed fake.

``AfSdkSource(settings, load_sdk(settings))`` on a Windows host with PI AF Client and pythonnet;
``AfSdkSource(settings, FakePISystem(history).sdk())`` anywhere else (see fake.py).
"""

from naia.sources.afsdk.loader import load_sdk, sdk_available
from naia.sources.afsdk.sdk import AfSdk
from naia.sources.afsdk.settings import AfSdkSettings
from naia.sources.afsdk.source import AfSdkSource

__all__ = ["AfSdk", "AfSdkSettings", "AfSdkSource", "load_sdk", "sdk_available"]
