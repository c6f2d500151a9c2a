"""Orchestrator: queue, scheduling, throttle, retries, checkpoints, progress and ETA."""

from naia.orchestrator.orchestrator import Orchestrator, OrchestratorConfig
from naia.orchestrator.retry import RetryPolicy
from naia.orchestrator.views import RequestView, Stats

__all__ = ["Orchestrator", "OrchestratorConfig", "RequestView", "RetryPolicy", "Stats"]
