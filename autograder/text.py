"""Text helpers every layer shares; student-controlled text is made safe here for each medium.

A leaf module, like model.py: it imports nothing from the package.
"""

from __future__ import annotations

import re

# Patterns as text: ``re`` compiles each on first use and keeps it. A command needs one or two of them, and
# compiling them all at import cost more than the rest of this module (the control characters' class most of all).
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
_SURROGATE = r"[\ud800-\udfff]"
_ESCAPED = r"\\([\\`*_{}\[\]#|~])"
FENCE = r"`{3,}(text)?"  # a line that opens or closes a fenced block (re.fullmatch(FENCE, line))


def clip(text: str, limit: int) -> str:
    """At most about ``limit`` characters, saying how many were cut."""
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit:,} more characters not shown)"


def valid_unicode(text: str) -> str:
    """Lone surrogates (which no UTF-8 file can hold) replaced, so the text can always be written."""
    if text.isascii():  # most text, and a constant-time test in CPython: nothing to replace
        return text
    return re.sub(_SURROGATE, "\ufffd", text)


def for_terminal(text: str) -> str:
    """No escape sequences or other control characters: a student's text cannot drive a TA's terminal."""
    return re.sub(_CONTROL, "\ufffd", valid_unicode(text))


def fenced(text: str) -> str:
    """A Markdown code block that ``text`` cannot break out of: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{valid_unicode(text)}\n{fence}"


def code_span(text: str) -> str:
    """Inline Markdown code that ``text`` cannot break out of (backticks inside are allowed)."""
    text = valid_unicode(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def markdown_escape(text: str) -> str:
    """Plain text that Markdown shows as itself: no HTML, no emphasis, no links, no headings."""
    text = valid_unicode(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]#|~])", r"\\\1", text)


def markdown_unescape(text: str) -> str:
    """Inverse of :func:`markdown_escape`, for showing Markdown as plain text."""
    return re.sub(_ESCAPED, r"\1", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
