"""Child process: the ingest peer — Kafka JSON records → QuestDB with QuestDB's Python client.

``python -m bench.peer_ilp_rows TOPIC TABLE GROUP``

The "custom program" way QuestDB's Kafka page describes, written the way its Python client's
documentation shows: a confluent-kafka consumer, ``json.loads`` per record and
``Sender.row(table, symbols=..., columns=..., at=TimestampNanos(...))`` per row over ILP/HTTP,
flushing and committing the offsets every 75,000 rows (the client's default auto-flush size) —
the same at-least-once order as NAIA's worker. Reads until stopped (SIGTERM).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType

FLUSH_ROWS = 75_000


def main(argv: list[str]) -> None:
    topic, table, group = argv
    from confluent_kafka import Consumer
    from questdb.ingress import Sender, TimestampNanos

    from bench.infra import KAFKA, QDB_PORT

    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    consumer = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    pending = 0
    print("ready", flush=True)
    with Sender.from_conf(f"http::addr=127.0.0.1:{QDB_PORT};auto_flush=off;") as sender:
        while not stop.is_set():
            for message in consumer.consume(1000, timeout=0.5):
                if message.error() is not None:
                    continue
                row = json.loads(message.value() or b"null")
                symbols = {"source_address": row["source_address"]}
                if row["state"] is not None:
                    symbols["state"] = row["state"]
                sender.row(
                    table,
                    symbols=symbols,
                    columns={
                        "seq": row["seq"],
                        "value": row["value"],
                        "good": row["good"],
                        "questionable": row["questionable"],
                        "substituted": row["substituted"],
                        "annotated": row["annotated"],
                    },
                    at=TimestampNanos(row["ts"] * 1000),
                )
                pending += 1
                if pending >= FLUSH_ROWS:
                    sender.flush()
                    consumer.commit(asynchronous=False)
                    pending = 0
            if pending:
                sender.flush()
                consumer.commit(asynchronous=False)
                pending = 0
    consumer.close()


if __name__ == "__main__":
    main(sys.argv[1:])
