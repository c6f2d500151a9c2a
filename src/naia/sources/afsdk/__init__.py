"""PI AF SDK source (connectorType ``PIAfSdk``).

``AfSdkSource(settings, load_sdk(settings))`` on a Windows host with PI AF Client and pythonnet,
or anywhere Mono runs with ``assembly_dir`` pointing at the compiled AF SDK stand-in
(tests/doubles/afsdk_standin, built by ``make standin``). Unit tests inject a Python fake
(tests/doubles/afsdk_fake.py). See docs/afsdk.md.
"""

from naia.sources.afsdk.loader import load_sdk, sdk_available
from naia.sources.afsdk.sdk import AfSdk
from naia.sources.afsdk.settings import AfSdkSettings
from naia.sources.afsdk.source import AfSdkSource

__all__ = ["AfSdk", "AfSdkSettings", "AfSdkSource", "load_sdk", "sdk_available"]
