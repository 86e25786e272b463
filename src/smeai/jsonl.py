"""Reading JSON Lines (interchange offerings, need files) in bounded memory, whatever the file holds.

Lines are read one at a time from a byte stream, never the whole file: a line longer than
`MAX_LINE_BYTES` is skipped without being kept (and reported), a line that is not UTF-8 is reported,
and a JSON value nested deeper than `MAX_DEPTH` is refused before the parser recurses into it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

# An offering or a need is a few hundred bytes; a long Chinese description a few tens of KiB.
MAX_LINE_BYTES = 64 * 1024
# An offering holds `pricing` (an object) and lists of strings: depth 2; a need no deeper. Room to spare.
MAX_DEPTH = 8


@dataclass(frozen=True)
class BadLine:
    """A line that cannot even be read as text; `reason` says why."""

    code: str
    reason: str


def read_lines(stream: IO[bytes], *, limit: int = MAX_LINE_BYTES) -> Iterator[str | BadLine]:
    """Each line of a byte stream as text (without its line break), or a BadLine. Memory is bounded
    by `limit`, not by the file or by its longest line."""
    first = True
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            size = len(raw)
            while not raw.endswith(b"\n"):  # drop the rest of the line in bounded pieces
                raw = stream.readline(64 * 1024)
                if not raw:
                    break
                size += len(raw)
            yield BadLine("line_too_long", f"line too long ({size} bytes; at most {limit})")
            first = False
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield BadLine("not_utf8", f"not UTF-8 text (byte {exc.start + 1})")
            first = False
            continue
        if first:
            text = text.removeprefix("\ufeff")
            first = False
        yield text.rstrip("\r\n")


def bounded(lines: Iterable[str | BadLine], *, limit: int = MAX_LINE_BYTES) -> Iterator[str | BadLine]:
    """Lines given as text (tests, the demo) held to the same length limit as a stream's."""
    for line in lines:
        if isinstance(line, str) and len(line) * 4 > limit and len(line.encode("utf-8", "replace")) > limit:
            yield BadLine(
                "line_too_long", f"line too long ({len(line.encode('utf-8', 'replace'))} bytes; at most {limit})"
            )
        else:
            yield line


_SPECIAL = re.compile(r'[\\"\[\]{}]')


def depth(text: str, *, stop: int | None = None) -> int:
    """How deeply the JSON text nests arrays and objects (brackets inside strings do not count), in
    one pass over its quotes, backslashes and brackets; counting ends once `stop` is exceeded."""
    level = deepest = 0
    in_string, escaped = False, -1
    for match in _SPECIAL.finditer(text):
        char, at = match.group(), match.start()
        if at == escaped:
            continue
        if in_string:
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
            if stop is not None and deepest > stop:
                break
        else:
            level -= 1
    return deepest


class NotJson(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads for untrusted lines: deep nesting, huge integers and syntax errors all raise NotJson."""
    if text.count("[") + text.count("{") > max_depth and depth(text, stop=max_depth) > max_depth:
        raise NotJson("too_deep", f"JSON nested too deeply (more than {max_depth} levels)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotJson("invalid_json", f"not valid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise NotJson("invalid_json", f"not valid JSON: {str(exc)[:100]}") from None
