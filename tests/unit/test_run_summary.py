"""What a run reports (#16 item 13): the values this run wrote, its wall time, and every retry,
the connector's own HTTP retries included."""

from datetime import timedelta

from rich.console import Console

from naia.api.schemas import request_detail
from naia.cli.progress import follow_remote, summary
from naia.domain.model import BackfillSpec, ConnectorType, RequestStatus
from naia.domain.ports import Source
from naia.orchestrator import Orchestrator
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.doubles.memory_store import MemoryStore
from tests.doubles.piwebapi_fake import ARCHIVE, BASE_URL, FakePiWebApi, respond
from tests.doubles.sources import FlakySource, Provider

HOUR = timedelta(hours=1)


def seed_day() -> BackfillSpec:
    return BackfillSpec(ConnectorType.SIMULATOR, SEED_POINTS, DAY_START, DAY_END, HOUR)


class PiWebApiProvider(Provider):
    """A new PI Web API source (over one fake server) at every open, as the app's catalog."""

    def __init__(self, fake: FakePiWebApi) -> None:
        super().__init__()
        self.fake = fake

    def open(self, connector_type: ConnectorType) -> Source:
        self.check(connector_type)
        settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE)
        return PiWebApiSource(settings, self.fake.transport(), sleep=lambda _: None)


def test_retries_count_the_connectors_http_retries() -> None:
    fake = FakePiWebApi.of_simulator(SimulatorSettings())
    orch = Orchestrator(PiWebApiProvider(fake), MemoryStore(), MemoryStore())
    request_id = orch.submit(seed_day()).request_id
    fake.inject(respond(503), respond(503), respond(500))  # the client absorbs all three
    orch.run_pending()
    view = orch.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.points_processed == 4320
    assert view.retries == 3


def render(table: object) -> str:
    console = Console(width=120, record=True)
    console.print(table)
    return console.export_text()


def test_a_resumed_run_reports_what_it_wrote_not_the_whole_request() -> None:
    store = MemoryStore()
    broken = {DAY_START + HOUR * h for h in range(6, 24)}
    first = Orchestrator(Provider(FlakySource(_sim(), broken=broken)), store, store)
    request_id = first.submit(seed_day()).request_id
    first.run_pending()  # 6 chunks done, 18 failed: 1,080 values
    assert first.get(request_id).points_processed == 6 * 180
    first.retry_failed(request_id)  # queued again; the process "stops" here

    second = Orchestrator(Provider(), store, store)
    assert second.recover() == [request_id]
    second.run_pending()
    view = second.get(request_id)
    assert view.status is RequestStatus.COMPLETED and view.points_processed == 4320
    assert view.run_values == 18 * 180
    assert view.run_seconds is not None and view.run_seconds > 0
    text = render(summary(view))
    assert "values written │ 3,240 " in text
    assert f"wall time      │ {view.run_seconds:.1f} s" in text
    rate = view.run_values / view.run_seconds
    assert f"{rate:,.0f} values/s" in text


def _sim() -> SimulatorSource:
    return SimulatorSource(SimulatorSettings())


def test_a_remote_run_shows_its_rate_and_eta_as_a_local_one() -> None:
    """`naia backfill --url` follows the API's view with the same bar as a local run: chunks,
    values, values/s and ETA (it used to show a bare percentage)."""
    orch = Orchestrator(Provider(), MemoryStore(), MemoryStore())
    request_id = orch.submit(seed_day()).request_id
    orch.run_pending()
    done = request_detail(orch.get(request_id)).model_copy(
        update={"valuesPerSecond": 4321.0, "etaSeconds": 0.0}
    )
    running = done.model_copy(
        update={
            "status": RequestStatus.RUNNING,
            "progress": 50.0,
            "completedChunks": 12,
            "pointsProcessed": 2160,
            "valuesPerSecond": 1234.0,
            "etaSeconds": 65.0,
        }
    )
    views = iter([running, done])
    console = Console(width=160, record=True, force_terminal=False)
    final = follow_remote(lambda: next(views), console, interval=0.0)
    text = console.export_text()
    assert final is done
    # a console that is no terminal renders the bar once, at its end: the last view's figures
    assert "24/24 chunks  4,320 values  4,321 values/s  ETA 00:00" in text
