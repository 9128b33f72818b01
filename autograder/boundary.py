"""The data that crosses the sandbox boundary, typed once for both of its ends.

The grader, the launcher (sandbox/zygote.py) and the worker (sandbox/worker.py)
exchange JSON: the worker's configuration, the requests and replies on its
pipes, the launcher's requests and answers, and the reports of exceptions.
Each shape is a TypedDict here, so that mypy checks the code that writes a
message against the code that reads it.

Standard library only, importing nothing from the package: the worker imports
this module beside student code, and the model (model.py) names the error
reports it keeps. What the worker sends is still untrusted: the grader reads
it as ``Untrusted`` and reduces it to these shapes itself (sandbox/process.py),
whatever a submission made the worker send.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

# Any JSON value.
JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
# A message read from the worker: any JSON object at all, until each field is checked.
Untrusted: TypeAlias = dict[str, object]


class ErrorReport(TypedDict, total=False):
    """An exception, as the worker describes it (sandbox/loader.py) and the grader keeps it: student text.

    ``where`` and ``names`` (the line, and the names its statement would have
    bound) belong to a problem met loading the file; the grader fills every key
    of what it keeps, and the engine's own reports (the kit's) may give fewer.
    """

    type: str
    mro: list[str]
    message: str
    traceback: str
    where: str
    names: list[str]


# --------------------------------------------------------------------------- the worker's configuration


class ResourceLimits(TypedDict):
    """The rlimits the worker sets on itself (confine.apply_limits); None leaves one as it is."""

    data_mb: int
    cpu_seconds: int
    processes: int | None
    file_size_mb: int
    open_files: int
    core_size: int


class WorkerConfig(TypedDict):
    """Everything ``worker.main`` is told, through the launcher, before student code runs."""

    submission: str  # the copy of the file to load, in ``workdir``
    workdir: str
    limits: ResourceLimits
    read_paths: list[str]  # what Landlock lets the worker read besides its folder
    output_bytes: int
    output_marker: str  # written after each call's output
    landlock_max_abi: int | None  # a test's cap on Landlock
    cell_marker: str | None  # a notebook's: the token in the line before each cell
    problems: list[ErrorReport]  # met by the grader reading the file (a notebook), reported as the worker's own
    mounts: str  # how the worker sees the filesystems, filled in by the launcher's fork that becomes the worker
    import_seconds: float  # how long loading the submission may run before the rest of the file is left unrun
    packages: list[str] | None  # the course's distributions: only they, their dependencies' and the engine's import (None: all)


# --------------------------------------------------------------------------- the worker's pipes


class ReportRequest(TypedDict):
    """The grader's first request: the graded names, which the ready reply lists when bound."""

    op: Literal["report"]
    names: list[str]


class CallRequest(TypedDict):
    """Call ``function`` with encoded arguments (worker.encode); its arrays are the frame's blobs."""

    op: Literal["call"]
    id: int
    function: str
    args: list[JsonValue]
    kwargs: dict[str, JsonValue]


Request: TypeAlias = ReportRequest | CallRequest


class Hello(TypedDict):
    """The worker's first message, once confined: what it applied to itself."""

    type: Literal["hello"]
    protections: dict[str, object]
    uid: int


class Ready(TypedDict):
    """The submission is loaded: what broke, and the callables it binds."""

    type: Literal["ready"]
    problems: list[ErrorReport]
    functions: list[str]
    seconds: float  # how long loading the file took, by the worker's clock (read as untrusted, and bounded)


class Returned(TypedDict):
    type: Literal["returned"]
    id: int
    value: JsonValue  # encoded as the arguments are


class Raised(TypedDict):
    type: Literal["raised"]
    id: int
    error: ErrorReport


class Missing(TypedDict):
    """The name called is bound to no callable when the call comes."""

    type: Literal["missing"]
    id: int


Answer: TypeAlias = Returned | Raised | Missing
AnswerKind = Literal["returned", "raised", "missing"]
ANSWER_KINDS: tuple[AnswerKind, ...] = ("returned", "raised", "missing")


# --------------------------------------------------------------------------- the launcher's socket


class SpawnOptions(TypedDict):
    """How the worker is kept in (sandbox/isolation.py decides; the launcher applies)."""

    user: list[int] | None  # [uid, gid] to drop to; None keeps the grader's user
    network_namespace: bool
    ipc_namespace: bool
    process_namespace: bool  # user, PID and mount namespaces (a grader that is not root)
    process_budget: int  # RLIMIT_NPROC for a worker with no user of its own; 0: none


class SpawnRequest(SpawnOptions):
    """Start one worker; the request's descriptors are its reply socket, the worker's 0, 1 and 2, and its status pipe."""

    op: Literal["spawn"]
    config: WorkerConfig
    workdir: str
    environment: dict[str, str]
    memory_bytes: int  # the bound of the worker's cgroup, where the launcher can make one; 0: none
    tasks: int  # the cgroup's bound on tasks (processes and threads)


class KillRequest(TypedDict):
    """SIGKILL every process of a user, from a throwaway process of that user."""

    op: Literal["kill"]
    user: list[int]  # [uid, gid]


class ProbeRequest(TypedDict):
    """Which namespaces a worker can be given here."""

    op: Literal["probe"]


LauncherRequest: TypeAlias = SpawnRequest | KillRequest | ProbeRequest


class Spawned(TypedDict):
    """The answer to a spawn: the reaper's pid (its pidfd comes with it), and how the worker's memory is bounded."""

    pid: int
    memory: str


class Refused(TypedDict):
    """The answer to a request the launcher could not carry out."""

    error: str


class NamespaceProbe(TypedDict):
    """The answer to a probe (sandbox/namespaces.py): each namespace tried for real."""

    network: bool
    ipc: bool
    process: bool
    detail: str  # why user and PID namespaces are missing, or which mounts stay writable in them
