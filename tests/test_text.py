"""autograder/text.py: student text made safe for each medium, whichever path (fast or not) a string takes."""

from __future__ import annotations

import re

import pytest

from autograder.text import FENCE, fenced, for_terminal, markdown_escape, markdown_unescape, valid_unicode


@pytest.mark.parametrize(("text", "expected"), [
    ("plain ascii", "plain ascii"),
    ("Q2a · fc_layer_params: 1×1 kernel 😀", "Q2a · fc_layer_params: 1×1 kernel 😀"),  # valid non-ASCII stays
    ("lone \ud800 and \udfff", "lone \ufffd and \ufffd"),
    ("", ""),
])
def test_valid_unicode_replaces_lone_surrogates_only(text: str, expected: str) -> None:
    assert valid_unicode(text) == expected
    valid_unicode(text).encode("utf-8")


def test_an_ascii_text_is_returned_as_it_is() -> None:
    text = "x" * 1000
    assert valid_unicode(text) is text


def test_for_terminal_removes_escapes_controls_and_surrogates() -> None:
    assert for_terminal("a\x1b[2Jb\u202ec\ud800\n\td") == "a\ufffd[2Jb\ufffdc\ufffd\n\td"


def test_markdown_round_trip_and_fences() -> None:
    text = "**bold** _x_ `code` <b>&amp; [link](u) # h | ~"
    assert markdown_unescape(markdown_escape(text)) == text
    opening, *_, closing = fenced("```\ninside\n````").splitlines()
    assert (opening, closing) == ("`````text", "`````")  # longer than any backtick run inside
    assert re.fullmatch(FENCE, opening) and re.fullmatch(FENCE, closing) and not re.fullmatch(FENCE, "``")
