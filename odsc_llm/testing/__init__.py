"""A local stand-in for a model deployment, for tests and for trying odsc_llm offline.

::

    from odsc_llm.testing import LocalDeployment

    with LocalDeployment() as local:
        client = odsc_llm.Client(deployment=local.deployment, auth=local.auth)
        client.completions.create(prompt="hi").choices[0].text  # "You said: hi"

Needs the ``testing`` extra (``pip install 'odsc-llm[testing]'``) for its server.
Names load on first use, so importing this package (or its pytest plugin) is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._answers import MODEL_NAME as MODEL_NAME
    from ._answers import embed as embed
    from ._answers import reply_text as reply_text
    from ._answers import tokenize as tokenize
    from ._faults import Fault as Fault
    from ._faults import Faults as Faults
    from ._faults import RecordedRequest as RecordedRequest
    from ._local import LocalDeployment as LocalDeployment
    from ._local import serve as serve
    from ._local import serve_forever as serve_forever
    from ._server import MAX_BODY_BYTES as MAX_BODY_BYTES
    from ._verify import SignatureVerificationError as SignatureVerificationError
    from ._verify import verify_request as verify_request

_LAZY: dict[str, str] = {
    "LocalDeployment": "._local",
    "serve_forever": "._local",
    "serve": "._local",
    "Fault": "._faults",
    "Faults": "._faults",
    "RecordedRequest": "._faults",
    "SignatureVerificationError": "._verify",
    "verify_request": "._verify",
    "MODEL_NAME": "._answers",
    "embed": "._answers",
    "reply_text": "._answers",
    "tokenize": "._answers",
    "MAX_BODY_BYTES": "._server",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'odsc_llm.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__))
