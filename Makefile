# The README's two quick-start commands: `make grade` and `make test`; CI also runs `make test-slow`.
# The system Python is preferred, as on Gradescope: a Python under /root (pyenv)
# cannot be run by the unprivileged user that student code runs as.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV ?= .venv

# Grading needs the engine and the students' packages only; the tests add their own tools.
$(VENV)/grading: pyproject.toml assignment.yaml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -c constraints.txt -e .
	$(VENV)/bin/python -m autograder packages > $(VENV)/student-packages.txt
	$(VENV)/bin/pip install --quiet -c constraints.txt -r $(VENV)/student-packages.txt
	touch $@

$(VENV)/testing: $(VENV)/grading
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# As root, student code runs as this user (isolation.DEFAULT_WORKER_USER), which setup.sh makes on
# Gradescope; a fresh machine has none, so make it as setup.sh does. An ordinary user needs none: the
# worker runs in a user namespace of its own.
worker-user:
	@if [ "$$(id -u)" = 0 ] && ! id autograder-worker >/dev/null 2>&1; then \
	    echo "making the system user autograder-worker, which student code runs as (as setup.sh does on Gradescope)"; \
	    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin autograder-worker; \
	fi

# The instructor's solution: the file in solutions/ named as assignment.yaml's submission_names name it.
grade: $(VENV)/grading worker-user
	$(VENV)/bin/python -m autograder grade solutions

test-env: $(VENV)/testing

# The fast suite (a few minutes on 2 cores): everything but the tests marked slow.
test: $(VENV)/testing worker-user
	$(VENV)/bin/python -m pytest -m "not slow"

# The slow suites: attacks through run_autograder, setup.sh installs, the browser, the docs replay,
# another course at the root. CI runs them after `make test`.
test-slow: $(VENV)/testing worker-user
	$(VENV)/bin/python -m pytest -m slow

.PHONY: grade test test-env test-slow worker-user
