"""The emulator's AI Quick Actions surface: served models, reasoning, JSON and tool-call
answers, parameter checks, and vLLM's utility routes (tokenize, detokenize, rerank).

Deterministic, like the rest of the emulator (whose answer rule is in ``_answers``):

* Models: ``odsc-llm``, or the names given as ``LocalDeployment(models=[...])``; a
  request naming any other gets vLLM's 404. Answers carry the requested model's name.
* Reasoning (``LocalDeployment(reasoning="reasoning" | "reasoning_content")``): chat
  answers think ``"Thinking about: "`` + the prompt first (one token per chunk, in the
  configured field), then reply; the thinking counts in ``completion_tokens`` but not
  against ``max_tokens``.
* JSON (``response_format`` ``json_schema``, or ``structured_outputs``; ``json_object``:
  the fields the prompt names, see ``_agents``;
  ``guided_json`` is ignored, as by vLLM >= 0.12): the prompt itself when it is JSON,
  else a value of the schema with every property present, strings the reply text,
  numbers their minimum or 0, booleans true, one array item, the first enum value.
* Tools: a named ``tool_choice`` or ``"required"`` calls that (or the first) tool,
  ``"auto"`` the first tool whose name is a word of the prompt; its arguments are built
  like JSON answers; ``content`` is ``""`` and ``finish_reason`` ``"tool_calls"``. A
  conversation that ends with tool results is answered in text (``_agents``).
* ``/tokenize`` gives :func:`tokenize`'s tokens with ids from a stable hash
  (``/detokenize`` inverts ids it gave); ``/v1/rerank`` scores each document by the
  share of the query's words it contains.
* Out-of-range ``temperature`` (< 0), ``top_p`` (not in (0, 1]) and ``n`` (< 1) get
  vLLM's 400 ``{"error": {"message", "type": "BadRequestError", "param", "code": 400}}``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REASONING_FIELDS", "ModelConfig", "reasoning_text", "schema_example", "token_id"]

#: vLLM's field for a reasoning model's thinking (>= 0.11), and the older one.
REASONING_FIELDS = ("reasoning", "reasoning_content")
DEFAULT_MAX_MODEL_LEN = 4096
_REASONING_PREFIX = "Thinking about: "
#: Token ids: a stable hash of the token's text, below this bound (a vocabulary size).
_VOCAB = 2**31 - 1


class AnswerError(Exception):
    """A request the model server rejects; rendered in vLLM's error shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        error_type = {404: "NotFoundError"}.get(self.status, "BadRequestError")
        return {
            "error": {
                "message": self.message,
                "type": error_type,
                "param": self.param,
                "code": self.status,
            }
        }


@dataclass
class ModelConfig:
    """What the emulated model server serves.

    ``models``: the served names in order (the first is the default when a request names
    none); ``parents`` maps a LoRA adapter's name to its base model's. ``reasoning``:
    ``None``, or the field a reasoning model's thinking is sent in.
    """

    models: list[str]
    parents: dict[str, str | None] = field(default_factory=dict)
    reasoning: str | None = None
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    #: Token id -> text, filled by tokenize answers so detokenize can invert them.
    vocabulary: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        models: Iterable[str] | Mapping[str, str | None] | None,
        reasoning: str | bool | None,
        default: str,
    ) -> ModelConfig:
        """Checked constructor arguments of ``LocalDeployment(models=, reasoning=)``."""
        if models is None:
            names, parents = [default], {}
        elif isinstance(models, Mapping):
            names, parents = list(models), dict(models)
        elif isinstance(models, str):
            raise ValueError("models must be a list of served model names, not a string.")
        else:
            names, parents = list(models), {}
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"models must be non-empty names, got {models!r}.")
        for name, parent in parents.items():
            if parent is not None and parent not in names:
                raise ValueError(f"the base model {parent!r} of {name!r} is not in models.")
        if reasoning is True:
            reasoning = REASONING_FIELDS[0]
        if reasoning is False:
            reasoning = None
        if reasoning is not None and reasoning not in REASONING_FIELDS:
            raise ValueError(
                f"reasoning must be False, 'reasoning' (vLLM >= 0.11) or 'reasoning_content' "
                f"(older vLLM), not {reasoning!r}."
            )
        return cls(models=names, parents=parents, reasoning=reasoning)

    def model_of(self, body: Mapping[str, Any]) -> str:
        """The served model a request names (the first when it names none); 404 if unknown."""
        model = body.get("model")
        if model is None:
            return self.models[0]
        if model not in self.models:
            raise AnswerError(
                404,
                f"The model `{model}` does not exist. Valid aliases: {', '.join(self.models)}.",
                param="model",
            )
        return str(model)

    def models_answer(self) -> dict[str, Any]:
        """``GET /v1/models`` as vLLM answers it."""
        created = int(time.time())
        data = []
        for name in self.models:
            parent = self.parents.get(name)
            data.append(
                {
                    "id": name,
                    "object": "model",
                    "created": created,
                    "owned_by": "vllm",
                    "root": f"/opt/ds/model/deployed_model/{parent or name}",
                    "parent": parent,
                    "max_model_len": self.max_model_len,
                    "permission": [],
                }
            )
        return {"object": "list", "data": data}


def check_ranges(body: Mapping[str, Any]) -> None:
    """vLLM's 400s for out-of-range sampling parameters."""

    def number(name: str) -> float | None:
        value = body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AnswerError(400, f"{name} must be a number, got {value!r}.", param=name)
        return float(value)

    temperature = number("temperature")
    if temperature is not None and temperature < 0:
        raise AnswerError(
            400, f"temperature must be non-negative, got {temperature}.", param="temperature"
        )
    top_p = number("top_p")
    if top_p is not None and not 0 < top_p <= 1:
        raise AnswerError(400, f"top_p must be in (0, 1], got {top_p}.", param="top_p")
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n < 1:
        raise AnswerError(400, f"n must be at least 1, got {n}.", param="n")


def reasoning_text(prompt: str) -> str:
    """A reasoning deployment's deterministic thinking before its reply to ``prompt``."""
    return _REASONING_PREFIX + " ".join(prompt.split())


# ---- JSON answers ------------------------------------------------------------------


def json_schema_of(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema a chat request constrains its answer to, as vLLM >= 0.12 reads it.

    ``response_format`` ``json_schema`` (or ``json_object``: any object) and
    ``structured_outputs: {"json": ...}``. ``guided_json`` is ignored, as vLLM >= 0.12
    ignores it.
    """
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping):
        if fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, Mapping) else None
            if not isinstance(schema, Mapping):
                raise AnswerError(
                    400, "response_format.json_schema.schema is required.", param="response_format"
                )
            return dict(schema)
        if fmt.get("type") == "json_object":
            return {"type": "object"}
    structured = body.get("structured_outputs")
    if isinstance(structured, Mapping) and isinstance(structured.get("json"), Mapping):
        return dict(structured["json"])
    return None


def schema_example(
    schema: Mapping[str, Any], text: str, root: Mapping[str, Any] | None = None
) -> Any:
    """A deterministic value satisfying simple JSON schemas: every property present,
    strings ``text``, numbers their minimum (or 0), booleans true, one array item, the
    first enum value or ``anyOf`` branch that is not null."""
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return schema_example(target, text, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if options:
            usable = [o for o in options if o.get("type") != "null"] or options
            return schema_example(usable[0], text, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: schema_example(sub, text, root) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items") or {}
        return [schema_example(items, text, root)] * max(int(schema.get("minItems", 1)), 1)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def json_reply(schema: Mapping[str, Any], prompt: str, reply: str) -> str:
    """The JSON answer: the prompt itself when it is JSON (so tests can send any JSON,
    valid or not), else :func:`schema_example` with strings set to ``reply``."""
    try:
        json.loads(prompt)
    except ValueError:
        return json.dumps(schema_example(schema, reply))
    return prompt


# ---- tool calls --------------------------------------------------------------------


def chosen_tool(
    body: Mapping[str, Any],
    prompt: str,
    after_results: Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The function a chat request's answer calls, or None for a text answer.

    A named ``tool_choice`` or ``"required"`` (the first tool) always calls; ``"auto"``
    (the default) calls the first tool whose name is a word of the prompt. When the
    conversation ends with tool results (``after_results`` given, ``_agents``),
    ``"auto"`` answers in text and ``"required"`` calls ``after_results(functions)``.
    """
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    functions: list[Mapping[str, Any]] = [
        t["function"]
        for t in tools
        if isinstance(t, Mapping)
        and isinstance(t.get("function"), Mapping)
        and t["function"].get("name")
    ]
    choice = body.get("tool_choice", "auto")
    if choice == "none" or not functions:
        return None
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        for f in functions:
            if f["name"] == name:
                return dict(f)
        raise AnswerError(400, f"tool_choice names an unknown tool {name!r}.", param="tool_choice")
    if choice == "required":
        return dict(functions[0] if after_results is None else after_results(functions))
    if after_results is not None:
        return None  # the tools answered: the model answers in text, as vLLM's would
    words = set(prompt.replace(",", " ").replace("?", " ").split())
    return next((dict(f) for f in functions if f["name"] in words), None)


def tool_call(function: Mapping[str, Any], reply: str) -> dict[str, Any]:
    """One vLLM tool call of ``function``, its arguments from the parameters' schema."""
    params = function.get("parameters") or {"type": "object", "properties": {}}
    return {
        "id": f"chatcmpl-tool-{uuid.uuid4().hex}",
        "type": "function",
        "function": {
            "name": function["name"],
            "arguments": json.dumps(schema_example(params, reply)),
        },
    }


# ---- utility routes ----------------------------------------------------------------


def token_id(token: str) -> int:
    """The emulator's stable id of one token (a hash of its text)."""
    return int.from_bytes(hashlib.sha256(token.encode("utf-8")).digest()[:8], "big") % _VOCAB


def tokenize_answer(
    body: Mapping[str, Any], config: ModelConfig, tokens_of: Any, chat_text: Any
) -> dict[str, Any]:
    """``/tokenize``: the emulator's tokens of ``prompt`` (or of all message text)."""
    config.model_of(body)
    if "messages" in body:
        text = chat_text(dict(body))
    else:
        text = body.get("prompt")
        if not isinstance(text, str):
            raise AnswerError(400, "prompt (a string) or messages is required.", param="prompt")
    tokens = tokens_of(text)
    ids = [token_id(t) for t in tokens]
    config.vocabulary.update(zip(ids, tokens, strict=True))
    answer: dict[str, Any] = {
        "count": len(ids),
        "max_model_len": config.max_model_len,
        "tokens": ids,
    }
    answer["token_strs"] = tokens if body.get("return_token_strs") else None
    return answer


def detokenize_answer(body: Mapping[str, Any], config: ModelConfig) -> dict[str, Any]:
    """``/detokenize``: the text of ids an earlier ``/tokenize`` answer gave."""
    config.model_of(body)
    ids = body.get("tokens")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise AnswerError(400, "tokens must be a list of integers.", param="tokens")
    unknown = [i for i in ids if i not in config.vocabulary]
    if unknown:
        raise AnswerError(400, f"token id {unknown[0]} is out of vocabulary.", param="tokens")
    return {"prompt": "".join(config.vocabulary[i] for i in ids)}


def rerank_answer(body: Mapping[str, Any], config: ModelConfig, tokens_of: Any) -> dict[str, Any]:
    """``/v1/rerank``: each document scored by the share of the query's words it contains
    (case-insensitive); best first, ties by index; ``top_n`` keeps the best N."""
    model = config.model_of(body)
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str):
        raise AnswerError(400, "query must be a string.", param="query")
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise AnswerError(400, "documents must be a list of strings.", param="documents")
    words = {w.lower() for w in query.split()}
    scored = []
    for index, doc in enumerate(documents):
        found = words & {w.lower() for w in doc.split()}
        scored.append((len(found) / len(words) if words else 0.0, index, doc))
    scored.sort(key=lambda item: (-item[0], item[1]))
    top_n = body.get("top_n")
    if isinstance(top_n, int) and not isinstance(top_n, bool) and top_n > 0:
        scored = scored[:top_n]
    total = sum(len(tokens_of(query)) + len(tokens_of(d)) for d in documents)
    return {
        "id": f"rerank-{uuid.uuid4().hex}",
        "model": model,
        "usage": {"total_tokens": total},
        "results": [
            {"index": index, "document": {"text": doc}, "relevance_score": score}
            for score, index, doc in scored
        ],
    }


# ---- server hooks ------------------------------------------------------------------

PATH_MODELS = "/v1/models"
UTILITY_ROUTES = ("/tokenize", "/detokenize", "/v1/rerank", "/rerank", "/v2/rerank")

#: Not forwarded by the gateway: hop-by-hop headers (RFC 9110 7.6.1), what the service
#: consumes itself (the signature and its inputs, the host) and what the upstream
#: connection sets (length, encoding).
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "authorization",
        "date",
        "x-date",
        "x-content-sha256",
        "opc-obo-token",
        "x-cross-tenancy-request",
        "x-subscription",
        "opc-principal",
    }
)


def forward_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers the gateway sends upstream: every end-to-end header of the request
    (``route`` included, as the service passes it to the container) except those above."""
    out = {name: value for name, value in headers.items() if name.lower() not in _NOT_FORWARDED}
    # Byte-exact streams: the upstream must not compress what the gateway relays.
    out["accept-encoding"] = "identity"
    out.setdefault("content-type", "application/json")
    out.setdefault("accept", "*/*")
    return out
