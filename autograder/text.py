"""Text helpers every layer shares, and the types that say where a text came from.

Every text that reaches a page, a terminal or a spreadsheet is one of three kinds:

- :class:`Trusted`: the grader's or the instructor's own words (a problem's title, a
  known mistake's message, "Likely mistake"), in the small Markdown subset
  results.json uses (``**bold**``, ```code```). Shown as written.
- :class:`StudentText`: anything the student controls: a file or folder name, a name
  or e-mail in the export's metadata, an exception's type and message, a traceback,
  printed output, notebook content, a returned value's repr. Escaped for each medium.
- :class:`Message`: the grader's words with student text inside them ("Graded
  `<file name>`."), kept as parts until a renderer escapes the student's.

All three are ``str`` subclasses, so code may inspect them (``in``, ``len``,
``startswith``) as before. What is *made* from them (an f-string, ``+``, a slice)
is a plain ``str``, of unknown origin. The renderers below (``to_markdown``,
``to_terminal``, ``to_html``, ``to_csv``) accept only the three types, so passing a
plain ``str`` is a mypy error; and at run time only Trusted text is shown as
written, anything else is escaped as student text. Forgetting to say where a text
came from can make it look odd, never make it markup, a link or a terminal escape.

A leaf module, like model.py: it imports nothing from the package.
"""

from __future__ import annotations

import re

# Patterns as text: ``re`` compiles each on first use and keeps it. A command needs one or two of them, and
# compiling them all at import cost more than the rest of this module (the control characters' class most of all).
# Every character that is invisible or changes how a line reads, by Unicode's own classes (as of Unicode 15.1):
# controls (Cc) but newline and tab, format characters (Cf: zero-width ones, bidirectional overrides and isolates,
# the byte-order mark, tags...), line and paragraph separators (Zl, Zp), and the other default-ignorable code points
# (fillers, invisible joiners), less the variation selectors, which only choose how the character before looks.
# tests/test_text.py checks it against the running Python's unicodedata.
_CONTROL = (
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5"
    r"\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd"
    r"\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e00ff\U000e01f0-\U000e0fff]"
)
_SURROGATE = r"[\ud800-\udfff]"
# **bold** as Markdown reads it: the marks hug the words and do not touch a letter, a digit or another mark outside,
# so the power in "more than 2**31 parameters" is no mark at all.
_BOLD = r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])"
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")  # a spreadsheet runs a cell that starts so as a formula


class Trusted(str):
    """The grader's or the instructor's own words: shown as written (Markdown subset: ``**bold**``, ```code```).

    Wrapping a text in Trusted is a claim that nothing in it came from a submission or an export.
    """

    __slots__ = ()


class StudentText(str):
    """Text the student controls (see the module's docstring): every renderer escapes it for its medium."""

    __slots__ = ()


class Message(str):
    """The grader's words with student text inside: ``Message(Trusted("Graded "), StudentText(name), Trusted("."))``.

    Its value as a plain ``str`` is what a terminal shows (the student's parts without control characters), so
    printing it or putting it in a log is safe; the renderers of the other media use its parts.
    """

    parts: tuple[Trusted | StudentText, ...]

    def __new__(cls, *parts: Trusted | StudentText) -> Message:
        self = super().__new__(cls, "".join(_terminal_part(part) for part in parts))
        self.parts = parts
        return self


Text = Trusted | StudentText | Message  # what a renderer accepts; a plain str is not one of them


def _pieces(text: Text) -> tuple[Trusted | StudentText, ...]:
    """The parts of a text; a plain str that slipped through (a mypy error) counts as the student's."""
    if isinstance(text, Message):
        return text.parts
    return (text if isinstance(text, Trusted) else StudentText(text),)


# --------------------------------------------------------------------------- the renderers, one per medium


def to_markdown(text: Text, block: bool = False) -> str:
    """Markdown for results.json. Student text is inline code (``block``: a fenced block) that it cannot break out of."""
    out = []
    for part in _pieces(text):
        if isinstance(part, Trusted):
            out.append(valid_unicode(part))
        else:
            out.append(fenced(clean(part)) if block else code_span(clean(part)) if part else "")
    return "".join(out)


def to_terminal(text: Text) -> str:
    """Plain text for a terminal: no escape sequence or other control character, and no Markdown bold marks."""
    return "".join(_terminal_part(part) for part in _pieces(text))


def _terminal_part(part: str) -> str:
    if isinstance(part, Trusted) and "**" in part:
        part = re.sub(_BOLD, r"\1", part)
    return clean(part)


def to_html(text: Text) -> str:
    """HTML text (element content or a quoted attribute value): every part escaped, the grader's words too."""
    from html import escape  # only batch's pages need it: html.entities costs a grade more than this module does

    return "".join(escape(clean(part)) for part in _pieces(text))


def to_csv(text: Text) -> str:
    """A spreadsheet cell: no control character, and never a formula (a leading ``=``, ``+``, ``-``, ``@`` gets a quote)."""
    value = "".join(clean(part) for part in _pieces(text))
    return "'" + value if value.startswith(CSV_FORMULA_STARTS) else value


# --------------------------------------------------------------------------- helpers


def clip(text: str, limit: int) -> str:
    """At most about ``limit`` characters, saying how many were cut."""
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit:,} more characters not shown)"


def valid_unicode(text: str) -> str:
    """Lone surrogates (which no UTF-8 file can hold) replaced, so the text can always be written."""
    if text.isascii():  # most text, and a constant-time test in CPython: nothing to replace
        return str(text)
    return re.sub(_SURROGATE, "\ufffd", text)


def clean(text: str) -> str:
    """Valid Unicode with no control character but newline and tab: nothing can drive a terminal or reorder a line."""
    if text.isascii() and text.isprintable():  # most text (a name, a number, one line), told in C: nothing to replace
        return str(text)
    return re.sub(_CONTROL, "\ufffd", valid_unicode(text))


def fenced(text: str) -> str:
    """A Markdown code block that ``text`` cannot break out of: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{valid_unicode(text)}\n{fence}"


def code_span(text: str) -> str:
    """Inline Markdown code that ``text`` cannot break out of (backticks inside are allowed)."""
    text = valid_unicode(text).replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
