# Attack: an import that sleeps for an hour (the solution follows this line). The worker stops it at
# its loading budget (or the grader's deadline ends the worker): the rest of the file is not run, so
# every function earns nothing, and the output names the time limit.
import time; time.sleep(3600)  # noqa: E702
