"""The small Markdown subset results.json uses, rendered to HTML for the batch feedback pages.

Supported: paragraphs, fenced code blocks (backticks or tildes, any length),
``-``/``*``/``+`` and numbered lists, ``#`` headings, ``---`` rules, **bold**,
`code spans` (any number of backticks), backslash escapes and character
references (``&amp;``, ``&lt;``, ``&gt;``, numeric).
Everything else is shown as text: every character that reaches the page goes
through ``html.escape``, and the only tags in the output are the ones written
here, so no student text can become markup, a link or a script. Control
characters (bidirectional overrides among them) are replaced first
(``text.clean``), so none reorders or hides what the page shows.
"""

from __future__ import annotations

import re
from html import escape, unescape

from autograder.text import clean

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_BULLET = re.compile(r"^ {0,3}[-*+][ \t]+(.*)$")
_NUMBERED = re.compile(r"^ {0,3}\d{1,9}[.)][ \t]+(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def render(text: str) -> str:
    """``text`` (Markdown) as HTML."""
    lines = clean(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    items: list[list[str]] = []
    list_tag = ""
    index = 0

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append(f"<p>{inline(chr(10).join(paragraph))}</p>")
            paragraph.clear()
        if items:
            body = "".join(f"<li>{inline(chr(10).join(item))}</li>" for item in items)
            out.append(f"<{list_tag}>{body}</{list_tag}>")
            items.clear()
            list_tag = ""

    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            flush()
            marker = fence.group(1)
            closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
            body = []
            index += 1
            while index < len(lines) and not closing.match(lines[index]):
                body.append(lines[index])
                index += 1
            out.append(f"<pre><code>{escape(chr(10).join(body))}</code></pre>")
            index += 1
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if not line.strip():
            flush()
        elif _RULE.match(line) and not (paragraph and line.strip().startswith("-")):
            flush()
            out.append("<hr>")
        elif heading := _HEADING.match(line):
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            tag = "ul" if bullet else "ol"
            if paragraph or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append([(bullet or numbered).group(1)])  # type: ignore[union-attr]
        elif items and (line.startswith((" ", "\t")) or not paragraph):
            items[-1].append(line.strip())  # a continuation of the last item
        else:
            paragraph.append(line.strip())
        index += 1
    flush()
    return "\n".join(out)


def inline(text: str) -> str:
    """Code spans, bold, backslash escapes and character references; everything else escaped."""
    pieces: list[str] = []  # HTML, with "**" kept as its own piece until pairs are known
    plain: list[str] = []
    position = 0

    def emit_plain() -> None:
        if plain:
            pieces.append(escape("".join(plain)))
            plain.clear()

    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in _PUNCTUATION:
            plain.append(text[position + 1])
            position += 2
        elif char == "`":
            run = len(text) - position - len(text[position:].lstrip("`"))
            ticks = text[position : position + run]
            closing = re.compile(rf"(?<!`){ticks}(?!`)")
            found = closing.search(text, position + run)
            if found is None:
                plain.append(ticks)
                position += run
                continue
            code = text[position + run : found.start()].replace("\n", " ")
            if len(code) > 2 and code.startswith(" ") and code.endswith(" ") and code.strip():
                code = code[1:-1]
            emit_plain()
            pieces.append(f"<code>{escape(code)}</code>")
            position = found.end()
        elif char == "&" and (entity := _ENTITY.match(text, position)):
            plain.append(clean(unescape(entity.group(0))))  # "&#x1b;" makes no escape character either
            position = entity.end()
        elif text.startswith("**", position):
            emit_plain()
            pieces.append("**")
            position += 2
        else:
            plain.append(char)
            position += 1
    emit_plain()
    markers = [i for i, piece in enumerate(pieces) if piece == "**"]
    for number, i in enumerate(markers):
        if number == len(markers) - 1 and len(markers) % 2:
            pieces[i] = "**"  # an unpaired marker stays as text
        else:
            pieces[i] = "<strong>" if number % 2 == 0 else "</strong>"
    return "".join(pieces)
