# The README's two quick-start commands: `make grade` and `make test`.
# The system Python is preferred, as on Gradescope: a Python under /root (pyenv)
# cannot be run by the unprivileged user that student code runs as.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV ?= .venv

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

grade: $(VENV)/installed
	$(VENV)/bin/python -m autograder grade solutions/ps3.py

test: $(VENV)/installed
	$(VENV)/bin/python -m pytest

.PHONY: grade test
