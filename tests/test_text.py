"""autograder/text.py: where a text came from, and each medium's renderer, whichever path (fast or not) a string takes."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import text as text_module
from autograder.text import (
    Message,
    StudentText,
    Trusted,
    clean,
    code_span,
    fenced,
    to_csv,
    to_html,
    to_markdown,
    to_terminal,
    valid_unicode,
)

FENCE_LINE = r"`{3,}(text)?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ascii", "plain ascii"),
        ("Q2a · fc_layer_params: 1×1 kernel 😀", "Q2a · fc_layer_params: 1×1 kernel 😀"),  # valid non-ASCII stays
        ("lone \ud800 and \udfff", "lone \ufffd and \ufffd"),
        ("", ""),
    ],
)
def test_valid_unicode_replaces_lone_surrogates_only(text: str, expected: str) -> None:
    assert valid_unicode(text) == expected
    valid_unicode(text).encode("utf-8")


def test_an_ascii_text_is_returned_as_it_is() -> None:
    text = "x" * 1000
    assert valid_unicode(text) is text


def test_clean_removes_escapes_controls_bidi_and_surrogates_but_keeps_newlines_and_tabs() -> None:
    assert clean("a\x1b[2Jb\u202ec\ud800\n\td\x9b\r\x00\u2066") == "a\ufffd[2Jb\ufffdc\ufffd\n\td\ufffd\ufffd\ufffd\ufffd"


def test_clean_replaces_every_invisible_or_reordering_character_by_unicodes_own_classes() -> None:
    """The whole class, from the running Python's Unicode data, not a list of known tricks: every control (but
    newline and tab), format character (zero-width, bidi, BOM, tags...) and line or paragraph separator."""
    every = [
        chr(point)
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) in ("Cc", "Cf", "Zl", "Zp") and chr(point) not in "\n\t"
    ]
    assert len(every) > 150 and clean("".join(every)) == "\ufffd" * len(every)
    # default-ignorable code points of other classes: fillers, joiners, invisible tag characters
    invisible = "\u034f\u115f\u17b4\u180b\u3164\uffa0\U000e0041\U000e007f"
    assert clean(invisible) == "\ufffd" * len(invisible)


def test_clean_keeps_what_text_is_written_with() -> None:
    text = "Größe naïve – 漢字 한국어 עברית العربية ❤️ 👍🏽 e\u0301 x\tthen\nnext 😀"  # emoji variation selectors and modifiers too
    assert clean(text) == text


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(alphabet=st.characters(max_codepoint=0xFF)) | st.text())
def test_clean_says_what_the_pattern_says_whether_or_not_it_is_run(text: str) -> None:
    """clean() skips the pattern for printable ASCII: for any text, that changes nothing but the time."""
    assert clean(text) == re.sub(text_module._CONTROL, "\ufffd", re.sub(text_module._SURROGATE, "\ufffd", text))


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    opening, *_, closing = fenced("```\ninside\n````").splitlines()
    assert (opening, closing) == ("`````text", "`````")
    assert re.fullmatch(FENCE_LINE, opening) and re.fullmatch(FENCE_LINE, closing)


def test_a_code_span_holds_backticks_and_newlines() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("one\ntwo") == "`one two`"


# --------------------------------------------------------------------------- the three kinds of text


def test_trusted_text_is_shown_as_written_and_student_text_is_escaped_in_every_medium() -> None:
    trusted, student = Trusted("**Likely mistake:** `conv2d`"), StudentText("**<b>x</b>**\x1b]0;t\x07")
    assert to_markdown(trusted) == "**Likely mistake:** `conv2d`"
    assert to_markdown(student) == "`**<b>x</b>**\ufffd]0;t\ufffd`"
    assert to_markdown(student, block=True) == "```text\n**<b>x</b>**\ufffd]0;t\ufffd\n```"
    assert to_terminal(trusted) == "Likely mistake: `conv2d`"  # the bold marks are Markdown's, not the terminal's
    assert to_terminal(student) == "**<b>x</b>**\ufffd]0;t\ufffd"  # the student's own asterisks stay
    assert to_html(trusted) == "**Likely mistake:** `conv2d`"
    assert to_html(student) == "**&lt;b&gt;x&lt;/b&gt;**\ufffd]0;t\ufffd"


def test_a_terminal_drops_only_bold_marks_so_a_power_in_a_case_name_stays() -> None:
    """An instructor's case name "more than 2**31 parameters" read "more than 231 parameters" in `grade --verbose`."""
    assert to_terminal(Trusted("a layer with more than 2**31 parameters")) == "a layer with more than 2**31 parameters"
    assert to_terminal(Trusted("2**31 and 2**32 are not bold")) == "2**31 and 2**32 are not bold"
    assert to_terminal(Trusted("**Likely mistake:** past 2**31, **twice**")) == "Likely mistake: past 2**31, twice"


def test_a_message_keeps_the_students_parts_apart_until_rendered() -> None:
    message = Message(Trusted("Graded "), StudentText("`a`<img>.py"), Trusted("."))
    assert isinstance(message, str) and message == "Graded `a`<img>.py."  # its str: what a terminal shows
    assert to_markdown(message) == "Graded `` `a`<img>.py ``."
    assert to_html(message) == "Graded `a`&lt;img&gt;.py."
    assert str(Message(StudentText("\x1b[31m"))) == "\ufffd[31m"  # printing a message never sends an escape


def test_a_plain_str_that_slipped_through_is_escaped_as_the_students() -> None:
    text = "<img src=x onerror=alert(1)>"
    assert to_markdown(text) == to_markdown(StudentText(text)) == f"`{text}`"  # type: ignore[arg-type]
    assert to_html(text) == "&lt;img src=x onerror=alert(1)&gt;"  # type: ignore[arg-type]


def test_what_is_made_from_student_text_is_a_plain_str() -> None:
    student = StudentText("x")
    assert type(student + "y") is str and type(f"{student}") is str and type(student.upper()) is str


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\n=1", "'\n=1"),
        ("\r=1", "\ufffd=1"),  # a carriage return is a control character: replaced, which defuses it too
    ],
)
def test_a_csv_cell_is_never_a_formula(cell: str, shown: str) -> None:
    assert to_csv(StudentText(cell)) == shown


def test_a_csv_cell_keeps_plain_text_and_loses_control_characters() -> None:
    assert to_csv(StudentText("Zoë Ångström")) == "Zoë Ångström"
    assert to_csv(StudentText("a\x1b[2Jb\x00")) == "a\ufffd[2Jb\ufffd"
