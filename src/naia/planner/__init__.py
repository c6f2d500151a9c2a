"""Planner: a validated request becomes chunks (points × half-open time windows). Pure."""

from naia.planner.plan import Limits, Plan, make_plan, validate_spec

__all__ = ["Limits", "Plan", "make_plan", "validate_spec"]
