"""A reference realtime client: the suite's default system under test, usable on its own.

client = RealtimeClient(ClientConfig(auth_url=..., gateway_url=..., api_key=...))
client.add_listener(print)
await client.connect()
await client.subscribe("news")
...
await client.close()
"""

from reference_client.backoff import Backoff, BackoffPolicy
from reference_client.client import RealtimeClient
from reference_client.config import ClientConfig, ConfigError
from reference_client.errors import AuthError, Classification, ClientClosedError, classify, classify_close
from reference_client.events import ClientEvent
from reference_client.states import ConnectionState

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "Backoff",
    "BackoffPolicy",
    "Classification",
    "ClientClosedError",
    "ClientConfig",
    "ClientEvent",
    "ConfigError",
    "ConnectionState",
    "RealtimeClient",
    "classify",
    "classify_close",
]
