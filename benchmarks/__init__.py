"""Speed, size and quality measurements; each prints JSON lines (``python -m benchmarks``)."""
