"""The Bot API schema, and turning raw request fields into typed parameters.

Owns: loading `spec/telegram-bot-api.json` (see spec/PROVENANCE.md), case-insensitive method lookup,
required-parameter checks, decoding form and JSON fields by their documented types, and checking
JSON objects (entities, keyboards, scopes, ...) against the documented types, recursively.
Pure apart from reading the schema file once; knows nothing about chats or messages.

Decoding follows the Bot API server: a JSON body is read like a form whose scalar values are
strings, so `{"chat_id": "5"}` and `chat_id=5` mean the same; objects and arrays arrive as JSON
text inside a field (that is how python-telegram-bot sends `entities` and `reply_markup`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.fakes.telegram.rules import ApiError

SPEC_PATH = Path(__file__).parent / "spec" / "telegram-bot-api.json"
_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_INTEGER = re.compile(r"-?\d+")
_DISCRIMINATOR = re.compile(r"(?:must be|always)\s+[“\"]?\*?([a-z_]+)")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str = ""


@dataclass(frozen=True, slots=True)
class Upload:
    """One file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a JSON value does not fit its type; `depth` > 0 once the value's shape matched."""

    type_name: str | None
    message: str
    depth: int = 0

    def describe(self, param: str) -> str:
        return f"can't parse {self.type_name or param}: {self.message}"


class BotApiSchema:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = raw["version"]
        self._methods: dict[str, Any] = raw["methods"]
        self._types: dict[str, Any] = raw["types"]
        self._by_lower = {name.lower(): name for name in self._methods}

    @classmethod
    def load(cls) -> BotApiSchema:
        return _load_schema()

    def canonical_method(self, name: str) -> str | None:
        return self._by_lower.get(name.lower())

    def method_fields(self, method: str) -> dict[str, FieldSpec]:
        return _fields(self._methods[method])

    def type_fields(self, type_name: str) -> dict[str, FieldSpec]:
        return _fields(self._types[type_name])

    def decode(
        self, method: str, raw: Mapping[str, str | Upload], *, skip_required: bool = False
    ) -> dict[str, Any]:
        """Typed parameters of one call; raises ApiError as Telegram would."""
        fields = self.method_fields(method)
        params: dict[str, Any] = {}
        for name, value in raw.items():
            spec = fields.get(name)
            if isinstance(value, Upload):
                if spec is not None and "InputFile" in spec.types:
                    params[name] = value.data
                continue
            if value == "":
                continue  # Telegram reads an empty field as an absent one
            params[name] = value if spec is None else self._decode_field(spec, value, raw)
        if not skip_required:
            for spec in fields.values():
                if spec.required and spec.name not in params:
                    raise ApiError.bad_request(_missing(spec))
        return params

    def _decode_field(self, spec: FieldSpec, value: str, raw: Mapping[str, str | Upload]) -> Any:
        types = spec.types
        if "InputFile" in types and value.startswith("attach://"):
            upload = raw.get(value.removeprefix("attach://"))
            if not isinstance(upload, Upload):
                raise ApiError.bad_request(f"can't find attached file {value!r}")
            return upload.data
        if "Integer" in types and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if "String" in types or "InputFile" in types:
            return value
        if "Float" in types:
            try:
                return float(value)
            except ValueError:
                raise ApiError.bad_request(f'field "{spec.name}" must be of type Float') from None
        if "Boolean" in types and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if set(types) <= _SCALARS:
            raise ApiError.bad_request(f'field "{spec.name}" must be of type {" or ".join(types)}')
        try:
            decoded = json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if spec.name == "reply_markup" else spec.name
            raise ApiError.bad_request(f"can't parse {what} JSON object") from None
        problem = self.check_value(types, decoded)
        if problem is not None:
            raise ApiError.bad_request(problem.describe(spec.name))
        return decoded

    def check_object(self, type_name: str, value: Any) -> None:
        """Raise AssertionError if `value` is not a valid `type_name` (for checking the fake)."""
        problem = self.check_value((type_name,), value)
        if problem is not None:
            raise AssertionError(problem.describe(type_name))

    def check_value(self, types: tuple[str, ...], value: Any) -> Problem | None:
        problems: list[Problem] = []
        for type_name in types:
            problem = self._check_one(type_name, value)
            if problem is None:
                return None
            problems.append(problem)
        return max(problems, key=lambda p: p.depth)

    def _check_one(self, type_name: str, value: Any) -> Problem | None:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return Problem(None, "must be of type Array")
            inner = type_name.removeprefix("Array of ")
            for item in value:
                problem = self._check_one(inner, item)
                if problem is not None:
                    return Problem(problem.type_name, problem.message, problem.depth + 1)
            return None
        if type_name in _SCALARS:
            return (
                None
                if _is_scalar(type_name, value)
                else Problem(None, f"must be of type {type_name}")
            )
        spec = self._types.get(type_name)
        if spec is None:
            return Problem(type_name, "unknown type")
        if "subtypes" in spec:
            return self._check_subtypes(type_name, spec["subtypes"], value)
        if not isinstance(value, dict):
            return Problem(type_name, "expected an Object")
        for field in self.type_fields(type_name).values():
            if field.name not in value:
                if field.required:
                    return Problem(type_name, f'Can\'t find field "{field.name}"')
                continue
            problem = self.check_value(field.types, value[field.name])
            if problem is not None:
                if problem.type_name is None:
                    message = f'Field "{field.name}" {problem.message}'
                    return Problem(type_name, message, 1)
                return Problem(problem.type_name, problem.message, problem.depth + 1)
        return None

    def _check_subtypes(self, type_name: str, subtypes: list[str], value: Any) -> Problem | None:
        candidates = []
        for subtype in subtypes:
            tag = self._discriminator(subtype)
            if tag is None or (isinstance(value, dict) and value.get(tag[0]) == tag[1]):
                candidates.append(subtype)
        if not candidates:
            return Problem(type_name, "Unsupported type specified")
        return self.check_value(tuple(candidates), value)

    def _discriminator(self, subtype: str) -> tuple[str, str] | None:
        fields = self._types.get(subtype, {}).get("fields") or []
        if not fields:
            return None
        match = _DISCRIMINATOR.search(fields[0]["description"])
        return None if match is None else (fields[0]["name"], match.group(1))


@cache
def _load_schema() -> BotApiSchema:
    return BotApiSchema(json.loads(SPEC_PATH.read_text(encoding="utf-8")))


def _fields(spec: Mapping[str, Any]) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(
            f["name"], tuple(f["types"]), bool(f["required"]), f.get("description", "")
        )
        for f in spec.get("fields", [])
    }


def _is_scalar(type_name: str, value: Any) -> bool:
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _missing(spec: FieldSpec) -> str:
    if spec.name == "text":
        return "message text is empty"
    if "InputFile" in spec.types:
        return f"there is no {spec.name} in the request"
    return f"{spec.name} is empty"


def form_fields_from_json(body: Mapping[str, Any]) -> dict[str, str | Upload]:
    """Read a JSON body the way the Bot API server does: scalars become text, the rest JSON."""
    fields: dict[str, str | Upload] = {}
    for name, value in body.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif isinstance(value, str):
            fields[name] = value
        elif isinstance(value, int | float):
            fields[name] = str(value)
        else:
            fields[name] = json.dumps(value)
    return fields


@cache
def reaction_emoji() -> frozenset[str]:
    """The emoji a ReactionTypeEmoji may carry, as the schema's description lists them."""
    spec = BotApiSchema.load().type_fields("ReactionTypeEmoji")["emoji"]
    return frozenset(re.findall(r'"([^"]+)"', spec.description))
