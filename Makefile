# The README's two quick-start commands: `make grade` and `make test`.
# The system Python is preferred, as on Gradescope: a Python under /root (pyenv)
# cannot be run by the unprivileged user that student code runs as.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV ?= .venv

# Grading needs the engine and the students' packages only; the tests add their own tools.
$(VENV)/grading: pyproject.toml assignment.yaml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e .
	$(VENV)/bin/python -m autograder packages > $(VENV)/student-packages.txt
	$(VENV)/bin/pip install --quiet -r $(VENV)/student-packages.txt
	touch $@

$(VENV)/testing: $(VENV)/grading
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

grade: $(VENV)/grading
	$(VENV)/bin/python -m autograder grade solutions/ps3.py

test-env: $(VENV)/testing

test: $(VENV)/testing
	$(VENV)/bin/python -m pytest

.PHONY: grade test test-env
