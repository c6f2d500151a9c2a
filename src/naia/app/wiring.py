"""Wiring: settings → concrete adapters → an Orchestrator. The only place that picks adapters."""

from __future__ import annotations

from dataclasses import dataclass

from naia.app.settings import NaiaSettings
from naia.domain.errors import ConnectorUnavailableError
from naia.domain.model import ConnectorType
from naia.domain.ports import Source
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.planner import Limits
from naia.sinks.duckdb import DuckDbStore
from naia.sources.simulator import SimulatorSource


class SourceCatalog:
    """A SourceProvider over the connectors this installation can run."""

    def __init__(self, settings: NaiaSettings) -> None:
        self._settings = settings

    def availability(self) -> dict[str, str | None]:
        """Connector type → None when available, else the reason it is not."""
        result: dict[str, str | None] = {}
        for connector in ConnectorType:
            try:
                self.check(connector)
                result[connector.value] = None
            except ConnectorUnavailableError as exc:
                result[connector.value] = str(exc)
        return result

    def check(self, connector_type: ConnectorType) -> None:
        if connector_type is ConnectorType.SIMULATOR:
            return
        raise ConnectorUnavailableError(
            f"connectorType '{connector_type.value}' is not available in this installation"
        )

    def open(self, connector_type: ConnectorType) -> Source:
        self.check(connector_type)
        return SimulatorSource(self._settings.simulator)


def orchestrator_config(settings: NaiaSettings) -> OrchestratorConfig:
    o = settings.orchestrator
    return OrchestratorConfig(
        limits=Limits(o.max_points, o.max_chunks, o.points_per_unit),
        retry=RetryPolicy(o.retry_attempts, o.retry_base_delay_s, o.retry_max_delay_s),
        rate_limit_values_per_s=o.rate_limit_values_per_s,
    )


@dataclass
class Runtime:
    """Everything a process needs, built once from the settings."""

    settings: NaiaSettings
    orchestrator: Orchestrator
    sources: SourceCatalog
    store: DuckDbStore

    def close(self) -> None:
        self.orchestrator.stop()
        self.store.close()


def build_runtime(settings: NaiaSettings) -> Runtime:
    store = DuckDbStore(settings.store.path)
    sources = SourceCatalog(settings)
    orchestrator = Orchestrator(sources, store, store, orchestrator_config(settings))
    return Runtime(settings, orchestrator, sources, store)
