"""LocalDeployment: a real HTTP stand-in for a model deployment, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..deployment import Deployment
from ..errors import OdscLLMError
from . import _aqua
from ._answers import DEFAULT_EMBEDDING_DIM, MODEL_NAME
from ._control_plane import ControlPlane, ControlPlaneMixin
from ._hosts import bind_listeners
from ._keys import fake_session_token, fingerprint
from ._mie import PathRouting
from ._server import EmulatorApp
from ._state import EmulatorState, StateViews, make_protocol_class
from ._throttle import Throttle
from ._verify import PublicKeyLike

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from .. import auth as _auth

__all__ = ["LocalDeployment"]

_REGION_KEY = "iad"
_TEMP_PREFIX = "odsc-llm-local-"


class LocalDeployment(ControlPlaneMixin, StateViews):
    """A local model deployment: a real HTTP server that speaks the deployment protocol.

    ::

        with LocalDeployment() as local:
            client = odsc_llm.Client(deployment=local.deployment, auth=local.auth)
            print(client.completions.create(prompt="hi").choices[0].text)  # "You said: hi"

    The server runs on ``host`` (default 127.0.0.1) and a free port in a background
    thread with its own event loop. It verifies the OCI signature of every request
    against the key pair it generated (``local.auth`` signs with it), answers
    deterministically (see ``odsc_llm.testing.reply_text``), streams like vLLM with
    ``token_delay`` seconds between tokens, and can be told to fail (``local.faults``).

    ``capacity``, ``rate_limit``, ``queue_size``: answer like a saturated deployment (at
    most ``capacity`` answers generating at once, a tenancy-style 429 above
    ``rate_limit`` requests/s, a 503 when ``queue_size`` wait); see ``local.throttle``
    and :mod:`odsc_llm.testing._throttle`.

    ``local.requests`` keeps the last ``request_log_size`` requests (bodies included; 0
    keeps none, for long load tests).

    With ``upstream="http://127.0.0.1:8000"`` it is a gateway instead: it verifies
    signatures the same way, then forwards each request to the upstream server's
    ``/v1/...`` path and streams the answer back unchanged.

    ``models=["llama-3-8b", "my-lora"]`` makes it a multi-model (or stacked) deployment
    serving those names (``{"my-lora": "llama-3-8b"}`` marks an adapter's base); any
    other ``model`` gets vLLM's 404. ``reasoning="reasoning"`` (or the older
    ``"reasoning_content"``) makes it a reasoning model that thinks before answering.

    Routing, as strict as the service. By default it is a *classic* deployment: it
    routes ``{url}/predict`` and ``{url}/predictWithResponseStream`` (the container
    path from the ``route`` header, else from the body's shape), and answers any path
    after them (``{url}/predict/v1/chat/completions``) with the service's 404
    ``NotAuthorizedOrNotFound``. ``api_specification="openai"`` makes it a Multiple
    Inference Endpoints deployment that also routes the OpenAI suffixes
    (``/v1/chat/completions``, ``/v1/models``, ...); ``custom_endpoints=[("/v1/items/{}",
    ["GET"])]`` (at most 15; ``{}`` is one path segment) routes those suffixes for those
    methods. :attr:`routing` is the client routing that fits. The gateway follows the
    same rules. The emulated control plane reports both (``predictApiSpecification``,
    ``customHttpEndpoints``), and setting ``local.control_plane.predict_api_specification``
    or ``.custom_http_endpoints`` changes what it routes, as updating a deployment does.
    """

    def __init__(
        self,
        *,
        token_delay: float = 0.0,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ocid: str | None = None,
        verify_signatures: bool = True,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        request_log_size: int = 10_000,
        startup_timeout: float = 15.0,
        models: Iterable[str] | Mapping[str, str | None] | None = None,
        reasoning: bool | str = False,
        capacity: int | None = None,
        rate_limit: float | None = None,
        queue_size: int | None = None,
        api_specification: str | None = None,
        custom_endpoints: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> None:
        if token_delay < 0:
            raise ValueError(f"token_delay must be >= 0 seconds, got {token_delay}.")
        path_routing = PathRouting.build(api_specification, custom_endpoints)
        if upstream is not None and not upstream.startswith(("http://", "https://")):
            raise ValueError(
                "upstream must be an http(s) URL such as 'http://127.0.0.1:8000', "
                f"got {upstream!r}."
            )
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self.ocid = ocid or (
            f"ocid1.datasciencemodeldeployment.oc1.{_REGION_KEY}.local{secrets.token_hex(12)}"
        )
        # One RSA key pair per instance: the API key, and the session key behind the token.
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_key = self._private_key.public_key()
        self.tenancy = f"ocid1.tenancy.oc1..local{secrets.token_hex(12)}"
        self.user = f"ocid1.user.oc1..local{secrets.token_hex(12)}"
        self.fingerprint = fingerprint(public_key)
        #: The API key's keyId, ``tenancy/user/fingerprint``.
        self.key_id = f"{self.tenancy}/{self.user}/{self.fingerprint}"
        self.security_token = fake_session_token(self.user)
        self._emulator = EmulatorState(
            ocid=self.ocid,
            public_keys={self.key_id: public_key, f"ST${self.security_token}": public_key},
            token_delay=token_delay,
            verify_signatures=verify_signatures,
            upstream=upstream,
            embedding_dim=embedding_dim,
            max_log=request_log_size,
            fixed_routing=path_routing,
        )
        # cp helper: the control plane on the same port (local.state, lifecycle_script...)
        self.control_plane = ControlPlane(ocid=self.ocid)
        self._emulator.control_plane = self.control_plane
        # The deployment JSON reports what it routes (predictApiSpecification...).
        self.control_plane.predict_api_specification = path_routing.api_specification
        self.control_plane.custom_http_endpoints = [
            (e.suffix, list(e.methods)) for e in path_routing.custom
        ]
        # aqua hook: the served models ({name: base} for LoRA adapters) and reasoning.
        self._emulator.models = _aqua.ModelConfig.build(models, reasoning, MODEL_NAME)
        # Throttle hook (odsc_llm/testing/_throttle.py): a deployment at its limits.
        self.throttle = Throttle(capacity=capacity, rate_limit=rate_limit, queue_size=queue_size)
        self._emulator.throttle = self.throttle if self.throttle.enabled else None
        self._initial_token_delay = token_delay
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._port: int | None = None
        self._auth: _auth.OCIAuth | None = None
        self._st_auth: _auth.OCIAuth | None = None
        self._deployment: Deployment | None = None
        #: Temporary config directories this instance made (removed by ``stop()``).
        self._temp_dirs: list[weakref.finalize[Any, Any]] = []

    # ---- lifecycle ------------------------------------------------------------------

    def start(self) -> LocalDeployment:
        """Start serving (``with`` does this); returns ``self``."""
        if self._thread is not None:
            return self
        try:
            import uvicorn
        except ImportError:  # pragma: no cover - depends on the install
            raise OdscLLMError(
                "The local emulator needs uvicorn: pip install 'odsc-llm[testing]'."
            ) from None
        config = uvicorn.Config(
            EmulatorApp(self._emulator),
            host=self.host,
            port=self._requested_port,
            http=make_protocol_class(self._emulator),
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=True,
            timeout_graceful_shutdown=2,
            backlog=2048,
        )
        try:
            listeners = bind_listeners(self.host, self._requested_port)
        except OdscLLMError:
            self.stop()  # removes what write_oci_config() made: this one never ran
            raise
        self._server = uvicorn.Server(config)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(started, listeners),
            name=f"odsc-llm-local-{self.ocid[-6:]}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                error = self._error
                reason = "" if error is None or isinstance(error, SystemExit) else f" ({error!r})"
                raise OdscLLMError(
                    f"The local emulator did not start on {self.host}:{self._requested_port}"
                    f"{reason}: is the port free? Pass port=0 to pick a free one."
                )
            started.wait(0.005)
        sockets = self._server.servers[0].sockets
        self._port = int(sockets[0].getsockname()[1])
        return self

    def _run(self, started: threading.Event, listeners: list[socket.socket]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=listeners))
        except BaseException as exc:  # pragma: no cover - reported by start()
            self._error = exc
        finally:
            started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the server thread (``with`` does this).

        Also removes the config directories :meth:`write_oci_config` made on its own
        (never one it was given).
        """
        thread, self._thread = self._thread, None
        try:
            if thread is not None:
                self._stop_thread(thread, timeout)
        finally:
            temp_dirs, self._temp_dirs = self._temp_dirs, []
            for remove in temp_dirs:
                remove()

    def _stop_thread(self, thread: threading.Thread, timeout: float) -> None:
        self._server.should_exit = True
        thread.join(timeout / 2)
        if thread.is_alive():
            self._server.force_exit = True
            thread.join(timeout / 2)

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = f", upstream={self._emulator.upstream!r}" if self._emulator.upstream else ""
        where = self.url if self._port else "not started"
        return f"LocalDeployment({where}{mode})"

    # ---- where it is and how to sign for it -------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        if self._port is None:
            raise OdscLLMError("The LocalDeployment is not started: use `with LocalDeployment():`.")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (loopback also when it listens on every interface)."""
        # 0.0.0.0 / :: are where to listen, not an address to reach: use this machine's
        # loopback, which a client accepts over plain http.
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host  # an IPv6 address
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The deployment endpoint, ``http://127.0.0.1:PORT/<ocid>``."""
        return f"{self.base_url}/{self.ocid}"

    @property
    def deployment(self) -> Deployment:
        """An :class:`odsc_llm.Deployment` pointing at this server."""
        if self._deployment is None or self._deployment.endpoint != self.url:
            self._deployment = Deployment.from_url(self.url)
        return self._deployment

    @property
    def api_specification(self) -> str | None:
        """``"openai"`` on a Multiple Inference Endpoints deployment, ``None`` on a classic one."""
        return self._emulator.path_routing.api_specification

    @property
    def custom_endpoints(self) -> list[tuple[str, tuple[str, ...]]]:
        """The custom endpoints it routes: ``(suffix, methods)`` pairs, as given (checked)."""
        return [(e.suffix, e.methods) for e in self._emulator.path_routing.custom]

    @property
    def routing(self) -> str:
        """The client routing that fits: ``"path"`` with ``api_specification="openai"``
        (it routes ``/predict/v1/...``), else ``"header"`` (what every deployment routes)."""
        return "path" if self.api_specification == "openai" else "header"

    @property
    def private_key_pem(self) -> bytes:
        """The private key (PKCS#8 PEM) of the API key and of the session token."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_keys(self) -> dict[str, PublicKeyLike]:
        """keyId -> public key of every key the server accepts (a live dict)."""
        return self._emulator.public_keys

    def add_public_key(self, key_id: str, public_key: PublicKeyLike) -> None:
        """Also accept signatures by ``key_id`` (``tenancy/user/fingerprint`` or ``ST$token``)."""
        self._emulator.public_keys[key_id] = public_key

    def signer(self) -> Any:
        """A new ``oci.signer.Signer`` for this deployment's API key."""
        import oci

        return oci.signer.Signer(
            self.tenancy,
            self.user,
            self.fingerprint,
            None,
            private_key_content=self.private_key_pem.decode("ascii"),
        )

    def security_token_signer(self) -> Any:
        """A new ``oci.auth.signers.SecurityTokenSigner`` for this deployment's session token."""
        import oci

        return oci.auth.signers.SecurityTokenSigner(self.security_token, self._private_key)

    @property
    def auth(self) -> _auth.OCIAuth:
        """An ``httpx.Auth`` that signs with the API key (``odsc_llm.auth.from_signer``)."""
        if self._auth is None:
            from .. import auth

            self._auth = auth.from_signer(self.signer())
        return self._auth

    @property
    def security_token_auth(self) -> _auth.OCIAuth:
        """An ``httpx.Auth`` that signs with the session token (keyId ``ST$...``)."""
        if self._st_auth is None:
            from .. import auth

            self._st_auth = auth.from_signer(self.security_token_signer())
        return self._st_auth

    def write_oci_config(self, directory: str | Path | None = None) -> Path:
        """Write an OCI config file, key and token into ``directory``; return the config path.

        Profiles: ``DEFAULT`` (API key) and ``SESSION`` (security token, the layout
        ``oci session authenticate`` writes). Point ``OCI_CONFIG_FILE`` at it, or pass
        ``config_file=`` to ``odsc_llm.auth.api_key``.

        Without ``directory`` the files go into a new temporary directory that
        :meth:`stop` (or the end of the ``with`` block, or of the interpreter) removes;
        a directory you give is yours and is kept.
        """
        if directory is None:
            made = tempfile.mkdtemp(prefix=_TEMP_PREFIX)
            self._temp_dirs.append(weakref.finalize(self, shutil.rmtree, made, True))
            directory = made
        # Absolute: the config names the key file, and must work from any folder.
        folder = Path(directory).expanduser().absolute()
        folder.mkdir(parents=True, exist_ok=True)
        key_file = folder / "local_key.pem"
        token_file = folder / "local_token"
        config_file = folder / "config"
        for path, content in (
            (key_file, self.private_key_pem),
            (token_file, self.security_token.encode()),
        ):
            path.write_bytes(content)
            path.chmod(0o600)
        config_file.write_text(
            "[DEFAULT]\n"
            f"user={self.user}\n"
            f"fingerprint={self.fingerprint}\n"
            f"tenancy={self.tenancy}\n"
            "region=us-ashburn-1\n"
            f"key_file={key_file}\n"
            "\n"
            "[SESSION]\n"
            f"fingerprint={self.fingerprint}\n"
            f"tenancy={self.tenancy}\n"
            "region=us-ashburn-1\n"
            f"key_file={key_file}\n"
            f"security_token_file={token_file}\n"
        )
        config_file.chmod(0o600)
        return config_file

    def client(self, **kwargs: Any) -> Client:
        """An ``odsc_llm.Client`` for this deployment (keyword arguments pass through)."""
        from .. import Client

        kwargs.setdefault("auth", self.auth)
        return Client(deployment=self.deployment, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An ``odsc_llm.AsyncClient`` for this deployment (keyword arguments pass through)."""
        from .. import AsyncClient

        kwargs.setdefault("auth", self.auth)
        return AsyncClient(deployment=self.deployment, **kwargs)

    def reset(self) -> None:
        """Clear faults and recorded requests, restore the initial token delay, and set the
        control plane back to ACTIVE with only the model server's start-up log."""
        self.faults.clear()
        self.clear_requests()
        self._emulator.token_delay = self._initial_token_delay
        self._emulator.peak_streams = self._emulator.active_streams
        self.control_plane.reset()  # ACTIVE, no script, start-up log only
