"""``OCIAuth``: the httpx adapter of the oci signers (an :class:`httpx.Auth`).

It decides when and where to sign (every attempt afresh; never for another host; a
token signer refreshed before it expires and once after a 401) and hands each request,
as a small stand-in (``_signing_request``), to the ``oci`` signer, which does the crypto
and the header rules. Blocking work (token refreshes) runs in a worker thread for async
clients. The providers in :mod:`odsc_llm.auth` build it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeVar

import httpx

from .._errors import AuthError
from ._signers import always_due, headers_wanted, never_due, signing_plan
from ._signing_request import prepare, write_back

__all__ = ["OCIAuth"]

logger = logging.getLogger("odsc_llm.auth")
_T = TypeVar("_T")


async def _in_worker_thread(fn: Callable[..., _T], *args: Any) -> _T:
    """Run blocking ``fn(*args)`` in a worker thread (asyncio or trio, via anyio)."""
    from anyio import to_thread  # lazy: only token refreshes and unknown signers need it

    return await to_thread.run_sync(fn, *args)


def nonempty_str(value: object) -> str | None:
    """``value`` if it is a non-empty string (a region read from a config or a signer)."""
    return value if isinstance(value, str) and value else None


class OCIAuth(httpx.Auth):
    """An :class:`httpx.Auth` that signs every request with an OCI signer.

    Args:
        signer: any oci signer (``oci.signer.Signer``, ``SecurityTokenSigner``, resource,
            instance principal or OKE workload identity signers, ...): a callable that
            signs a request-like object in place, as oci's signers do.
        refresh: called once after a ``401`` answer, before the request is signed and
            sent again (once). Defaults to the signer's ``refresh_security_token`` when
            it has one; API-key signers have nothing to refresh.
        region: the region of these credentials (default: the signer's ``region``, if any);
            providers that read a config profile set it from the profile.
        blocking: whether signing may do blocking I/O (token refresh). ``True``: the
            async flow always signs in a worker thread. ``False``: it always signs on the
            event loop (refreshes included). ``None`` (the default) decides from the
            signer: plain key signing is CPU-only and stays on the event loop; token
            signers go to a thread only when their token is due for a refresh; unknown
            signers always go to a thread. The sync flow always signs in the caller's
            thread; a refresh after a ``401`` always runs in a worker thread in async code.

    Each send is signed afresh (a retry gets a new ``date``). A caller-supplied
    ``Authorization`` header is refused with :class:`~odsc_llm.AuthError`.
    """

    requires_request_body = True

    def __init__(
        self,
        signer: Any,
        *,
        refresh: Callable[[], object] | None = None,
        blocking: bool | None = None,
        region: str | None = None,
    ) -> None:
        if isinstance(signer, OCIAuth):
            region = region or signer.region
            signer = signer.signer
        if not callable(signer):
            raise AuthError(
                f"OCIAuth needs an oci signer (a callable such as oci.signer.Signer), "
                f"not {type(signer).__name__}."
            )
        #: The underlying oci signer; pass it as ``signer=`` to oci service clients.
        self.signer: Any = signer
        #: The home region of these credentials (the config profile's ``region``, or the
        #: principal's), used by control-plane calls that are not tied to a deployment.
        self.region: str | None = region or nonempty_str(getattr(signer, "region", None))
        self._description = f"signer={type(signer).__name__}"
        self._refresh_lock = threading.Lock()
        self._refresh_generation = 0

        # How to sign: `_sign_call` may do I/O (refresh); `_sign_fast` never does and is
        # used on the event loop when `_io_due()` says no refresh is due.
        plan = signing_plan(signer)
        io_due, sign_fast, pre_sign = plan.io_due, plan.sign_fast, plan.pre_sign
        fast_pre_sign: Callable[[], object] | None = None  # io_due() said: nothing due
        if blocking is True:
            io_due = always_due
        elif blocking is False:  # the caller says nothing blocks: the full path, on the loop
            io_due = never_due
            sign_fast = signer
            fast_pre_sign = pre_sign

        self._wanted = headers_wanted(signer)
        self._sign_call: Callable[[Any], object] = signer
        self._sign_fast = sign_fast
        self._pre_sign = pre_sign
        self._fast_pre_sign = fast_pre_sign
        self._io_due = io_due
        self._refresh: Callable[[], object] | None = (
            refresh if refresh is not None else getattr(signer, "refresh_security_token", None)
        )

    def __repr__(self) -> str:
        return f"OCIAuth({self._description})"

    # -- signing -------------------------------------------------------------------

    def _sign(self, request: httpx.Request, *, may_block: bool = True) -> int:
        """Sign ``request`` in place; returns the refresh generation it was signed with."""
        stand_in, before = prepare(request, self._wanted)
        generation = self._refresh_generation
        try:
            if may_block:
                if self._pre_sign is not None:
                    self._pre_sign()
                self._sign_call(stand_in)
            else:
                if self._fast_pre_sign is not None:
                    self._fast_pre_sign()
                self._sign_fast(stand_in)
        except AuthError:
            raise
        except Exception as exc:
            raise AuthError(
                f"Signing the request with {type(self.signer).__name__} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

        write_back(request, stand_in, before)
        return generation

    def _refresh_after_401(self, generation: int) -> None:
        """Refresh once, unless another request already refreshed since ``generation``."""
        refresh = self._refresh
        if refresh is None:
            return
        with self._refresh_lock:
            if self._refresh_generation != generation:
                return
            try:
                refresh()
            except AuthError:
                raise
            except Exception as exc:
                raise AuthError(
                    f"Refreshing the credentials of {type(self.signer).__name__} after a 401 "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            self._refresh_generation += 1

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()  # requires_request_body: the body is hashed and signed
        generation = self._sign(request)
        response = yield request
        if response.status_code == 401 and self._refresh is not None:
            logger.debug("401 from %s: refreshing credentials and re-sending once", request.url)
            self._refresh_after_401(generation)
            self._sign(request)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()  # requires_request_body: the body is hashed and signed
        if self._io_due():
            generation = await _in_worker_thread(self._sign, request)
        else:
            generation = self._sign(request, may_block=False)
        response = yield request
        if response.status_code == 401 and self._refresh is not None:
            logger.debug("401 from %s: refreshing credentials and re-sending once", request.url)
            await _in_worker_thread(self._refresh_after_401, generation)
            await _in_worker_thread(self._sign, request)
            yield request


OCIAuth.__module__ = "odsc_llm.auth"  # its public home, in reprs and tracebacks
