# Attack: an import that sleeps for an hour (the solution follows this line). The grader's import
# deadline ends it: every function earns nothing and the output names the time limit.
import time; time.sleep(3600)  # noqa: E702
