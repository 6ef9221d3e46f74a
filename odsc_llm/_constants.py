"""Every tuning number of the client, in one place."""

from __future__ import annotations

from typing import Final

import httpx

#: The model name a single-model deployment answers to (vLLM 404s on any other).
DEFAULT_MODEL = "odsc-llm"
#: The LiteLLM provider name odsc_llm.integrations.litellm registers: model="odsc/<deployment>".
LITELLM_PROVIDER = "odsc"

#: Per-attempt timeouts: 10 s to connect, 600 s for each read (long generations).
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
#: Longest gap between two content events of a stream (comments do not count): the
#: read timeout of ``timeout``. A client given its own ``timeout`` uses that one's read.
DEFAULT_STREAM_IDLE_TIMEOUT = DEFAULT_TIMEOUT.read

#: Many concurrent streams each hold a connection: httpx's default of 100 would make
#: the 101st wait for a free one and fail with a pool timeout.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
#: How often the clients' own pools poll every idle socket for a server-side close (a
#: connection about to be reused is polled each time): see ``_pool``.
POOL_SWEEP_INTERVAL = 1.0

#: Exponential backoff with full jitter: a wait drawn from [0, min(MAX, INITIAL * 2**n)].
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: The longest ``Retry-After`` we honour; longer values are capped to this.
MAX_RETRY_AFTER = 60.0

#: Control-plane calls (Data Science, Logging Search) and principal credentials (the
#: instance metadata service, resource principal tokens) go through ``oci``, whose own
#: timeouts and retries add up to minutes with no network: by default one such call
#: takes at most ``CONTROL_PLANE_TIMEOUT`` seconds in all, retries included (retries:
#: ``DEFAULT_MAX_RETRIES``), and waits at most ``CONTROL_PLANE_CONNECT_TIMEOUT`` to connect.
CONTROL_PLANE_TIMEOUT = 30.0
CONTROL_PLANE_CONNECT_TIMEOUT = 10.0
#: Errors of calls that got no answer are one line this long at most: the CLI's line
#: (``odsc-llm: error: ``, flags instead of Python advice) stays within 300 characters.
ONE_LINE_ERROR_MAX = 260
#: The CLI says what it is waiting for when a control-plane call takes longer than this.
CLI_WAIT_NOTICE_AFTER = 2.0

#: Errors whose message gets the deployment's lifecycle state with ``state_hint=True``.
STATE_HINT_STATUSES = (404, 409, 503)

#: Statuses worth another attempt. Not 409: on a deployment it is not transient.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Error bodies (and non-SSE answers to a stream call) are read this far, no further,
#: to build the message; then the connection is closed. Gateways send whole pages.
MAX_ERROR_BODY_BYTES = 64 * 1024

#: Model deployments refuse bodies over 10 MB (413); we check before sending.
MAX_BODY_BYTES = 10 * 1024 * 1024

#: The container paths the ``route`` header selects on a deployment.
ROUTE_COMPLETIONS = "/v1/completions"
ROUTE_CHAT_COMPLETIONS = "/v1/chat/completions"
ROUTE_EMBEDDINGS = "/v1/embeddings"
#: The Responses API (vLLM also serves ``GET {it}/{id}`` and ``POST {it}/{id}/cancel``).
ROUTE_RESPONSES = "/v1/responses"
#: Path routing: at most this many container URLs are kept parsed per client (routes
#: with an id, such as ``/v1/responses/{id}``, are one per response).
MAX_CACHED_ROUTE_URLS = 64

#: After ``data: [DONE]`` a stream reads at most this many more pieces of the body (each
#: already here) to give the connection back to the pool; a server that keeps talking
#: gets it closed instead.
STREAM_READS_AFTER_DONE = 16
#: Async streams: how long one of those reads may take. It only lets the event loop hand
#: over bytes it already received (a separate TCP segment with the body's end); a server
#: that sends nothing more costs this once, then its connection is closed.
STREAM_DRAIN_GRACE = 0.005

#: Async connections (the default transport): a new connection's first read from its
#: socket takes at most this many bytes, each later one twice the last (up to asyncio's
#: own 256 KiB). An answer the server sent whole stays in the kernel's socket buffer until
#: the stream reads on, rather than in the process: with 1,000 streams open at once that
#: is ~8 KB a stream (issue 27); a long stream reaches full-size reads within 7 reads.
FIRST_READ_BYTES = 4096

STREAM_ENDPOINTS = ("predictWithResponseStream", "predict")
DEFAULT_STREAM_ENDPOINT = "predictWithResponseStream"

#: How a request names its container path. ``"header"``: to ``{endpoint}/predict`` (or
#: ``/predictWithResponseStream``) with a ``route: /v1/...`` header, which every
#: deployment routes. ``"path"``: to ``{endpoint}/predict/v1/...``, which only Multiple
#: Inference Endpoints (MIE) deployments route (``predictApiSpecification="openai"`` or
#: ``customHttpEndpoints``); a classic deployment answers it 404.
ROUTINGS = ("header", "path")
#: ``Final``: typed as the literal, so it is a valid default of a ``Routing`` parameter.
DEFAULT_ROUTING: Final = "header"
#: How ``AsyncClient`` reaches the network. ``"httpx"``: httpx on odsc_llm's pool (the
#: default; the only one of ``Client``). ``"aiohttp"``: aiohttp's pool and C HTTP parser
#: under httpx's API (``pip install 'odsc-llm[aiohttp]'``; ``_transport/_aiohttp.py``).
TRANSPORTS = ("httpx", "aiohttp")
#: ``Final``: typed as the literal, so it is a valid default of a ``Transport`` parameter.
DEFAULT_TRANSPORT: Final = "httpx"
#: The suffixes an MIE deployment with ``predictApiSpecification="openai"`` routes after
#: ``/predict`` (and ``/predictWithResponseStream``); ``/v1/responses`` with its sub-paths.
#: Source: OCI Data Science docs, "Multiple Inference Endpoints" (model deployments).
MIE_OPENAI_SUFFIXES = (
    "/v1/models",
    "/v1/completions",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/messages",
    "/tokenize",
    "/detokenize",
    "/metrics",
    "/invocations",
)
#: Suffixes under which sub-paths are routed too (``/v1/responses/{id}/cancel``).
MIE_PREFIX_SUFFIXES = ("/v1/responses",)
#: A deployment may declare at most this many custom HTTP endpoints.
MIE_MAX_CUSTOM_ENDPOINTS = 15
#: openai from this major version on sends through ``httpx2`` (openai 1.x: ``httpx``): the
#: flavor of HTTP client that ``integrations.openai.http_client()`` builds by default.
OPENAI_HTTPX2_FROM_MAJOR = 2

#: The environment variable a client reads its deployment from when none is given.
ENV_DEPLOYMENT = "ODSC_LLM_DEPLOYMENT"

#: `odsc-llm serve-local` / `python -m odsc_llm.testing`: where the emulator listens,
#: and the delay between its streamed tokens.
LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 8080
#: The largest TCP port: a larger ``--port`` is refused, not wrapped around.
MAX_PORT = 65535
LOCAL_TOKEN_DELAY = 0.02

#: vLLM's utility routes (the ``route`` header) and the models listing (a GET path).
ROUTE_TOKENIZE = "/tokenize"
ROUTE_DETOKENIZE = "/detokenize"
ROUTE_RERANK = "/v1/rerank"
#: vLLM's pooling routes (score: vLLM moved it from ``/v1/score`` to ``/score``).
ROUTE_SCORE = "/score"
ROUTE_CLASSIFY = "/classify"
ROUTE_POOLING = "/pooling"
#: Speech to text (multipart/form-data bodies; vLLM streams them with ``stream=true``).
ROUTE_TRANSCRIPTIONS = "/v1/audio/transcriptions"
ROUTE_TRANSLATIONS = "/v1/audio/translations"
PATH_MODELS = "/v1/models"

# ---- batch runner: adaptive concurrency and pacing (odsc_llm/_batch/) ------------------

#: ``batch(concurrency="auto")``: the ceiling of the adaptive limit unless
#: ``max_concurrency=`` says otherwise, and where it starts (slow start doubles it each
#: round trip until the first sign of congestion).
BATCH_MAX_CONCURRENCY = 256
BATCH_INITIAL_CONCURRENCY = 8
#: Fixed-concurrency default of the low-level ``run_batch`` engine.
BATCH_DEFAULT_CONCURRENCY = 32
#: The service's request-rate limit per tenancy (requests/s), named in messages and docs.
TENANCY_RATE_LIMIT = 150.0
#: Additive increase: +1 to the limit per ``limit`` good answers (about +1 a round trip).
BATCH_INCREASE = 1.0
#: Multiplicative decrease of the concurrency limit on 503 / timeouts / connection errors.
BATCH_BACKOFF = 0.7
#: "Latency holds": the median of the last ``BATCH_LATENCY_SAMPLES`` latencies (checked
#: every ``BATCH_LATENCY_EVERY`` answers) within this many times the best such median
#: seen; beyond it the server (or this process) is queueing: the limit stops growing
#: and is cut by ``BATCH_LATENCY_BACKOFF`` (never below the initial limit: latency alone
#: is a soft signal). The best median forgets by the factor ``BATCH_LATENCY_FORGET``
#: per second of clock time, not per check: checks come more often the more answers
#: come, and a per-check rate let a busy batch's baseline drift up with its own queue
#: (0.28 s to 0.72 s in 10 s at 150 answers/s). 1.04 a second is the old 2 % a check
#: at the rate it was tuned at (16 answers a check at 30 answers/s: 1.02 ** 1.9).
BATCH_LATENCY_TOLERANCE = 3.0
BATCH_LATENCY_FORGET = 1.04
#: At most this many seconds of forgetting at once (a long gap without answers must not
#: overflow ``BATCH_LATENCY_FORGET ** seconds``; 1.04 ** 600 is about 1.6e10).
BATCH_LATENCY_FORGET_SPAN = 600.0
BATCH_LATENCY_SAMPLES = 64
BATCH_LATENCY_EVERY = 16
BATCH_LATENCY_BACKOFF = 0.9
#: The client's own slowness is not the server's. A probe sleeps ``BATCH_LAG_INTERVAL``
#: seconds over and over and measures how late the loop wakes it (the time a ready
#: callback waits for this process's CPU); ``BATCH_LAG_WEIGHT`` x the largest such lag
#: of the last ``BATCH_LAG_WINDOW`` seconds is added to what "latency holds" allows
#: before a cut (an attempt waits for the loop about that many times: send, headers,
#: body).
BATCH_LAG_INTERVAL = 0.05
BATCH_LAG_WINDOW = 1.0
BATCH_LAG_WEIGHT = 3.0
#: Slow start ends at the first check whose median latency is this many times the best
#: median while throughput has stopped growing (or whose loop-lag allowance exceeds the
#: best median): a queue is forming, on the server or in this process, and doubling on
#: into it only overshoots (a CPU-starved client then holds hundreds of connections it
#: cannot serve). TCP's HyStart++ (RFC 9406) leaves slow start on rising delay.
BATCH_SLOW_START_EXIT = 1.5
#: While a batch holds (throughput flat, the client waiting on its own loop), the limit
#: comes down toward this many times what Little's law needs in flight (answers/s x the
#: best median latency; the same headroom caps the limit on a 429). A trim that leaves
#: the answers ``BATCH_TRIM_LOSS`` slower than when the hold began is undone.
BATCH_HOLD_HEADROOM = 2.0
BATCH_TRIM_LOSS = 0.1
#: Latency cuts only while throughput has stopped growing: answers in the last
#: ``BATCH_GROWTH_WINDOW`` seconds more than ``1 + BATCH_GROWTH_MIN`` times those of the
#: window before mean more in flight still buys more answers, so a slower answer is
#: the price of a busy client or a fuller pipe, not congestion.
BATCH_GROWTH_WINDOW = 1.0
BATCH_GROWTH_MIN = 0.05
#: At most one cut per this many seconds (one burst of 429s is one signal, not fifty).
BATCH_CUT_INTERVAL = 0.5
#: On a 429 the runner starts pacing: at the rate it saw answered in the last
#: ``BATCH_RATE_WINDOW`` seconds times ``BATCH_RATE_BACKOFF``, then probes upward by
#: the fraction ``BATCH_RATE_PROBE`` of itself every second without a 429.
BATCH_RATE_WINDOW = 1.0
BATCH_RATE_BACKOFF = 0.95
BATCH_RATE_PROBE = 0.02
#: The pace probes upward only while it binds: at least this share of it was answered
#: in the last ``BATCH_RATE_WINDOW`` (a client too busy to send at the pace learns
#: nothing about the limit from not reaching it, and would burst past it later).
BATCH_RATE_BINDING = 0.8
#: After ``BATCH_RATE_QUIET`` seconds without a 429 the pace doubles every
#: ``BATCH_RATE_DOUBLING`` seconds, back up to the rate answered when the 429s began
#: (without bound when nothing was answered then: a storm of 429s says nothing about
#: the rate allowed after it), and only then probes by ``BATCH_RATE_PROBE``.
BATCH_RATE_QUIET = 0.5
BATCH_RATE_DOUBLING = 0.25
#: A caller waiting for its turn at the pace re-reads the pace at least this often (s).
BATCH_PACE_RECHECK = 0.1
#: A learned pace catches up on send slots the event loop woke too late for, up to this
#: many seconds' worth (a token bucket this deep). With a one-slot bucket a loop that
#: wakes 40 ms late (a busy machine) sends one request per wake-up, not forty ms' worth:
#: at 150/s the batch fell to ~60/s. The service counts requests per second ("150 per
#: second per tenancy", OCI Data Science docs, model-dep-predict-endpoint), so a tenth of
#: a second's worth at once stays within it. A caller's ``rate_limit=`` never catches up.
BATCH_PACE_CATCHUP = 0.1
#: The pace never goes below this (requests/s).
BATCH_MIN_RATE = 1.0
#: With concurrency="auto" a 429/503 attempt is retried up to this many times beyond
#: ``max_retries`` (only if ``max_retries`` > 0): the controller slows down, the item is fine.
BATCH_THROTTLED_RETRIES = 8
#: Ctrl-C: how long in-flight items get to finish cancelling before the runner returns.
BATCH_CANCEL_GRACE = 2.0
#: A file path: every batch appends its controller's decisions there as JSON lines (debug).
ENV_BATCH_TRACE = "ODSC_LLM_BATCH_TRACE"

# ---- odsc-llm proxy: the local signing gateway (odsc_llm/proxy/) -----------------------

#: Where ``odsc-llm proxy`` listens unless told (loopback: it holds signing credentials).
PROXY_HOST = "127.0.0.1"
PROXY_PORT = 8765
#: The model name a single-deployment proxy sends upstream, whatever the client asked.
PROXY_UPSTREAM_MODEL = DEFAULT_MODEL
#: Bodies above this many bytes (chunked ones too) get 413 before anything goes upstream:
#: the service's own limit (MAX_BODY_BYTES).
PROXY_MAX_BODY_BYTES = MAX_BODY_BYTES
#: Upstream statuses that move a request to the next deployment (before its first byte).
PROXY_FAILOVER_STATUSES = frozenset({429, 502, 503, 504})
#: The one upstream pool: thousands of concurrent streams each hold a connection.
PROXY_LIMITS = httpx.Limits(max_connections=10_000, max_keepalive_connections=1_000)
#: Upstream timeouts: as the clients' (connect 10 s; a read may wait for a long answer).
PROXY_TIMEOUT = DEFAULT_TIMEOUT
#: ``GET /health`` asks each deployment for its models, for at most this long (s).
PROXY_HEALTH_TIMEOUT = 3.0
#: SIGINT/SIGTERM: in-flight requests get this long to finish (s); streams still open
#: then end with an error event, and the process exits within PROXY_SHUTDOWN_LIMIT.
PROXY_SHUTDOWN_GRACE = 5.0
PROXY_SHUTDOWN_LIMIT = 6.0
#: Bytes kept from the end of the previous piece of a stream, so an end marker split
#: across two pieces is still seen.
PROXY_MARKER_TAIL = 64
#: Pieces of an answer read ahead of the caller (then the upstream read waits).
PROXY_PIPE_QUEUE = 64
#: An upstream request's head and body are written as one, up to this many bytes at a
#: time (a larger body goes in pieces of about this size).
PROXY_GATHER_BYTES = 64 * 1024
#: Upstream URLs kept parsed (a few per deployment: predict, stream, path routes).
PROXY_URL_CACHE = 1024
#: ``odsc-llm proxy`` writes its access log to stderr this often (s), from a thread.
PROXY_LOG_FLUSH = 0.1
