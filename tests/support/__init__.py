"""What the tests share: clients and the Twin (``clients``), the CLI runner (``cli``),
the batch controller's fake clock (``batch``), misbehaving raw-socket servers
(``hostile``, ``hostile_sse``), in-memory OpenTelemetry exporters (``otel``), no-network
servers (``bounds``), AI Quick Actions data (``aqua``)."""
