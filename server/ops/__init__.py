"""Operations: health and readiness probes, Prometheus metrics, per-key rate limits."""
