"""``create_deployment``'s blocking core takes one frozen ``_CreateRequest``, built from
the public function's arguments: its fields are exactly those arguments, less the
waiting's (``wait``, ``timeout``, ``poll_interval``, ``callback``)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from odsc_llm.control_plane import _create
from odsc_llm.control_plane._create import _CreateRequest

_WAITING = {"wait", "timeout", "poll_interval", "callback"}


@pytest.mark.parametrize("shell", [_create.create_deployment, _create.acreate_deployment])
def test_the_request_holds_every_argument_but_the_waiting(shell: object) -> None:
    arguments = list(inspect.signature(shell).parameters)  # type: ignore[arg-type]
    fields = [field.name for field in dataclasses.fields(_CreateRequest)]
    assert fields == [name for name in arguments if name not in _WAITING]


def test_the_request_is_frozen_and_has_no_defaults_of_its_own() -> None:
    fields = dataclasses.fields(_CreateRequest)
    assert all(f.default is dataclasses.MISSING for f in fields)  # the signature's, once
    request = _CreateRequest.of({f.name: None for f in fields} | {"wait": True})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.shape = "VM.GPU.A10.1"  # type: ignore[misc]
