"""Every tuning number of the client, in one place."""

from __future__ import annotations

import httpx

#: The model name a single-model deployment answers to (vLLM 404s on any other).
DEFAULT_MODEL = "odsc-llm"

#: Per-attempt timeouts: 10 s to connect, 600 s for each read (long generations).
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2

#: Many concurrent streams each hold a connection: httpx's default of 100 would make
#: the 101st wait for a free one and fail with a pool timeout.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200)

#: Exponential backoff with full jitter: a wait drawn from [0, min(MAX, INITIAL * 2**n)].
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: The longest ``Retry-After`` we honour; longer values are capped to this.
MAX_RETRY_AFTER = 60.0

#: Statuses worth another attempt. Not 409: on a deployment it is not transient.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Model deployments refuse bodies over 10 MB (413); we check before sending.
MAX_BODY_BYTES = 10 * 1024 * 1024

#: The most of an error body (or of a non-SSE answer to a stream call) we read: enough
#: for any message, and a 300 MB HTML page costs no more than this.
MAX_ERROR_BODY_BYTES = 64 * 1024

#: The container paths the ``route`` header selects on a deployment.
ROUTE_COMPLETIONS = "/v1/completions"
ROUTE_CHAT_COMPLETIONS = "/v1/chat/completions"
ROUTE_EMBEDDINGS = "/v1/embeddings"

STREAM_ENDPOINTS = ("predictWithResponseStream", "predict")
DEFAULT_STREAM_ENDPOINT = "predictWithResponseStream"
