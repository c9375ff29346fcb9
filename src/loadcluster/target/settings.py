"""TargetSettings: where the demo target listens and how badly it behaves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetSettings:
    """Where the demo target listens and how badly it behaves.

    latency_ms is added to every load request; error_rate (0..1) is the share of load requests
    answered with HTTP 500 instead. Load requests are all but the control endpoints under
    /_target/, so /health and /metrics are slowed and failed too, as on a struggling service.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    latency_ms: float = 0.0
    error_rate: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, got {self.latency_ms}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {self.error_rate}")
