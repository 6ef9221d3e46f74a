"""A local stand-in for a model deployment, for tests and for trying odsc_llm offline.

::

    from odsc_llm.testing import LocalDeployment

    with LocalDeployment() as local:
        client = odsc_llm.Client(deployment=local.deployment, auth=local.auth)
        client.completions.create(prompt="hi").choices[0].text  # "You said: hi"

Needs the ``testing`` extra (``pip install 'odsc-llm[testing]'``) for its server.
Names load on first use, so importing this package (or its pytest plugin) is cheap.
To export a name, add it to ``_LAZY`` and to the imports under ``TYPE_CHECKING``
(``tests/test_exported_members.py`` checks that they agree).
"""

import typing as _typing

from .._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from ._answers import MODEL_NAME as MODEL_NAME
    from ._answers import embed as embed
    from ._answers import reply_text as reply_text
    from ._answers import tokenize as tokenize
    from ._faults import Fault as Fault
    from ._faults import Faults as Faults
    from ._faults import RecordedRequest as RecordedRequest
    from ._local import LocalDeployment as LocalDeployment
    from ._runner import serve as serve
    from ._runner import serve_forever as serve_forever
    from ._server import MAX_BODY_BYTES as MAX_BODY_BYTES
    from ._verify import SignatureVerificationError as SignatureVerificationError
    from ._verify import verify_request as verify_request

# name -> module that defines it; loaded on first attribute access (PEP 562).
_LAZY: dict[str, str] = {
    "LocalDeployment": "._local",
    "serve_forever": "._runner",
    "serve": "._runner",
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

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _attach(__name__, _LAZY)
