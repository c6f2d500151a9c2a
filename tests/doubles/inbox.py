"""Decoding shared by the in-memory inboxes of the unit tests: the Kafka wire format itself."""

from __future__ import annotations

import pyarrow as pa

from naia.domain.ports import InboxMessage
from naia.transports.kafka.codec import decode_message


class DecodingInbox:
    """Base for list-backed inboxes: decodes as the Kafka inbox does."""

    def decode(self, message: InboxMessage) -> pa.RecordBatch:
        content_type = message.headers.get("content-type")
        return decode_message(message.value, content_type.decode() if content_type else None)
