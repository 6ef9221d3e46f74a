"""The base of every response model: unknown fields allowed, ``request_id`` attached."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr


class BaseType(BaseModel):
    """A part of a response: servers add fields, so unknown fields are kept, never an error."""

    model_config = ConfigDict(extra="allow", protected_namespaces=(), populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON-compatible data, without fields the server did not send."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The object as JSON text, without fields the server did not send."""
        return self.model_dump_json(indent=indent, exclude_unset=True)


class ResponseType(BaseType):
    """A whole answer (or stream chunk): carries the ``request_id`` of its HTTP response.

    Only top-level objects have the private attribute: pydantic initialises private
    attributes on every instance, which would cost a few microseconds per nested model.
    """

    _request_id: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of the HTTP answer this object came from (quote it to support)."""
        return self._request_id
