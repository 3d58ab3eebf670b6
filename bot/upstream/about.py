"""The upstream's `/about` document as lines people read (the bot's /about command).

Owns the layout only: any JSON value in, indented `key: value` lines out, nested objects and lists
of objects one level deeper, lists of plain values on one line. No I/O: `bot.upstream.client`
fetches the document, decodes the body (`decode.json_body`) and redacts the key from the result.
"""

from __future__ import annotations

import json
from typing import Any


def readable_text(payload: Any) -> str:
    """A JSON document (such as `/about`) as indented `key: value` lines for people to read."""
    return "\n".join(_readable_lines(payload, 0))


def _readable_lines(value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict) or (isinstance(item, list) and _nested(item)):
                lines.append(f"{pad}{key}:")
                lines.extend(_readable_lines(item, depth + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return lines
    if isinstance(value, list) and _nested(value):
        return [line for item in value for line in _readable_lines(item, depth)]
    return [pad + _scalar(value)]


def _nested(items: list[Any]) -> bool:
    return any(isinstance(item, dict | list) for item in items)


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar(item) for item in value)
    return value if isinstance(value, str) else json.dumps(value)
