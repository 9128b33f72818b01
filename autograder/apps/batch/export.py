"""Reading what a TA passes to ``batch``: a Gradescope export (zip or folder) or a folder of plain submissions.

Everything in an export is student-controlled. A zip is unpacked with regular
files only, never outside its folder, within size caps; a bad file inside one
student's ``submission_<id>`` folder (a name pointing outside, an oversized
file) is skipped with a note for that student, so one bad upload never stops
the class. Only what cannot be attributed to a student refuses the export.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.apps.submission import IGNORED_NAMES
from autograder.engine.specs import natural_key, yaml_hazard
from autograder.text import Message, StudentText, Text, Trusted, to_terminal

METADATA_NAME = "submission_metadata.yml"
SUBMISSION_FOLDER = re.compile(r"submission_([A-Za-z0-9][A-Za-z0-9_.-]*)")
SUBMISSION_SUFFIXES = (".py", ".ipynb")

MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_MEMBER_BYTES = 256 << 20
MAX_ZIP_TOTAL_BYTES = 4 << 30
MAX_SUBMISSION_BYTES = 512 << 20  # one student's files in all: past it, their files are skipped, not the class refused
MAX_PATH_PARTS = 64  # folders in a member's path: deeper ones are skipped (a thousand levels broke every walk of the tree)


class BatchError(Exception):
    """Input the command cannot use. The message says what to do; the exit code is 2 and nothing is written."""


@dataclass
class Submission:
    """One student's (or group's) submission, and what Gradescope knows about it."""

    id: str
    path: Path | None  # a folder, a lone .py/.ipynb file, or None if the export lists it without a folder
    submitters: list[dict[str, str]] = field(default_factory=list)  # each with name, sid, email
    created_at: str = ""
    recorded_score: float | None = None
    notes: list[Text] = field(default_factory=list)  # for staff: files of this submission skipped while unpacking


@dataclass
class Export:
    """An export ready to read: its folder, whether it is Gradescope's layout, and notes per submission id."""

    folder: Path
    skipped: dict[str, list[Text]] = field(default_factory=dict)

    @property
    def gradescope(self) -> bool:
        return (self.folder / METADATA_NAME).is_file()


def listing(ids: list[str], limit: int = 10) -> str:
    """Submission ids for a message on the TA's terminal (a folder's name is the student's: no control character)."""
    return to_terminal(StudentText(", ".join(ids[:limit]))) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def warn(message: str) -> None:
    """A warning for the TA's terminal; it may name the export's files, so it is shown as student text."""
    print(f"warning: {to_terminal(StudentText(message))}", file=sys.stderr)


# --------------------------------------------------------------------------- reading the input


@contextlib.contextmanager
def unpacked(export: Path) -> Iterator[Export]:
    """The export as a folder: itself, or a zip unpacked into a private temporary folder removed afterwards.

    Either way, a folder that only wraps the export (one folder holding
    ``submission_metadata.yml``) is looked into, as Gradescope's zip wraps it.
    """
    import zipfile

    if export.is_dir():
        yield Export(_unwrap(export, zipped=False))
        return
    if not export.exists():
        raise BatchError(f"{export} does not exist. Pass a Gradescope export (.zip or folder) or a folder of submissions.")
    if not zipfile.is_zipfile(export):
        raise BatchError(f"{export} is neither a folder nor a zip file. Pass a Gradescope export or a folder of submissions.")
    temporary = Path(tempfile.mkdtemp(prefix="ag-batch-"))  # mode 0700: no sandbox user can read other students' files
    try:
        skipped = extract_zip(export, temporary)
        yield Export(_unwrap(temporary, zipped=True), skipped)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _unwrap(folder: Path, zipped: bool) -> Path:
    """``folder``, or the one folder inside it: always in a zip (Gradescope wraps it), in a folder only if that holds the metadata."""
    if (folder / METADATA_NAME).is_file():
        return folder
    entries = [p for p in folder.iterdir() if p.name not in IGNORED_NAMES and not p.name.startswith(".")]
    wrapper = entries[0] if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() else None
    return wrapper if wrapper is not None and (zipped or (wrapper / METADATA_NAME).is_file()) else folder


def _owner(parts: list[str]) -> str | None:
    """The submission id a zip member belongs to: the first ``submission_<id>`` folder on its path, before any ``..``."""
    for part in parts[:-1]:
        if part == "..":
            return None
        match = SUBMISSION_FOLDER.fullmatch(part)
        if match:
            return match.group(1)
    return None


def extract_zip(archive: Path, target: Path) -> dict[str, list[Text]]:
    """Unpack ``archive`` into ``target``: regular files only, never outside ``target``, within size caps.

    Sizes are counted on the bytes actually written, not on what the zip's
    headers claim, so a zip bomb stops at the cap. A bad member inside a
    ``submission_<id>`` folder is skipped; the notes returned say which, per
    submission id. One that belongs to no submission refuses the whole zip.
    """
    import zipfile

    skipped: dict[str, list[Text]] = {}

    def skip(parts: list[str], name: str, why: str) -> None:
        owner = _owner(parts)
        if owner is None:
            raise BatchError(f"{archive} contains {name!r}, which {why}. Export the submissions again from Gradescope.")
        skipped.setdefault(owner, []).append(
            Message(Trusted("The uploaded file "), StudentText(name), Trusted(" was skipped: it "), StudentText(why), Trusted("."))
        )

    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise BatchError(f"{archive} holds {len(members):,} files; the limit is {MAX_ZIP_MEMBERS:,}.")
            total, per_submission = 0, dict[str, int]()
            for info in members:
                info.filename = _utf8_name(info)
                raw = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
                parts = [p for p in raw if p != ".."]
                if info.filename.startswith(("/", "\\")) or ".." in raw or (raw and ":" in raw[0]):
                    skip(raw, info.filename, "is an unsafe path (it points outside the folder)")
                    continue
                kind = (info.external_attr >> 16) & 0o170000
                if info.is_dir() and parts and kind in (0, 0o040000) and len(parts) <= MAX_PATH_PARTS:
                    target.joinpath(*parts).mkdir(parents=True, exist_ok=True)  # an empty one is a student with nothing in it
                    continue
                if info.is_dir() or not parts or kind not in (0, 0o100000):  # skip symlinks, devices
                    continue
                if len(parts) > MAX_PATH_PARTS:
                    skip(parts, info.filename, f"is nested more than {MAX_PATH_PARTS} folders deep")
                    continue
                if info.file_size > MAX_ZIP_MEMBER_BYTES:
                    skip(parts, info.filename, f"is over the limit of {MAX_ZIP_MEMBER_BYTES:,} bytes")
                    continue
                destination = target.joinpath(*parts)
                owner = _owner(parts)
                owners_room = MAX_SUBMISSION_BYTES - per_submission.get(owner, 0) if owner is not None else MAX_ZIP_TOTAL_BYTES
                try:
                    written = _unpack_member(zipped, info, destination, min(MAX_ZIP_TOTAL_BYTES - total, owners_room))
                except _OverTotal:
                    _remove_partial(destination)
                    if owners_room < MAX_ZIP_TOTAL_BYTES - total:  # this student's files alone: only theirs are cut
                        skip(parts, info.filename, f"is past this submission's limit of {MAX_SUBMISSION_BYTES:,} bytes in all")
                        continue
                    raise BatchError(
                        f"{archive} unpacks to more than the limit of {MAX_ZIP_TOTAL_BYTES:,} bytes; "
                        "it is not a plain export of submissions."
                    ) from None
                except Exception as error:  # noqa: BLE001 - zlib.error, LZMAError, EOFError...: whatever one member raises
                    # This member alone cannot be written here (a name too long for the file system, a corrupt or
                    # encrypted entry, an unknown compression): the rest of the class is still graded.
                    _remove_partial(destination)
                    skip(parts, info.filename, f"could not be unpacked ({getattr(error, 'strerror', None) or error})")
                    continue
                if written > MAX_ZIP_MEMBER_BYTES:  # its header lied about its size
                    destination.unlink()
                    skip(parts, info.filename, f"is over the limit of {MAX_ZIP_MEMBER_BYTES:,} bytes")
                    continue
                total += written
                if owner is not None:
                    per_submission[owner] = per_submission.get(owner, 0) + written
    except (zipfile.BadZipFile, OSError) as error:  # the archive itself, not one member
        raise BatchError(f"cannot unpack {archive}: {error}") from None
    return skipped


def _utf8_name(info: Any) -> str:
    """A member's name as its maker wrote it: zipfile reads a name without the UTF-8 flag as cp437 (the format's old
    default), but Windows' and macOS's own zip tools write UTF-8 without setting it, so "ünïcode.py" came out as
    "├╝n├»code.py" (adopter). Such a name is read as UTF-8 when its bytes are valid UTF-8, as unzip does."""
    if info.flag_bits & 0x800:
        return str(info.filename)
    try:
        return str(info.filename.encode("cp437").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return str(info.filename)


class _OverTotal(Exception):
    """The export as a whole unpacks to more than MAX_ZIP_TOTAL_BYTES."""


def _unpack_member(zipped: Any, info: Any, destination: Path, room: int) -> int:
    """Write one member to ``destination``, counting the bytes really written; how many (past the cap: stopped there)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipped.open(info) as source, open(destination, "wb") as sink:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > MAX_ZIP_MEMBER_BYTES:
                break
            if written > room:
                raise _OverTotal
            sink.write(chunk)
    return written


def _remove_partial(destination: Path) -> None:
    with contextlib.suppress(OSError):
        destination.unlink()


def read_submissions(folder: Path, skip: Path | None = None) -> list[Submission]:
    """The submissions in an export folder: Gradescope's layout if it has the metadata, else one per folder or file."""
    entries = _entries(folder, skip)
    if (folder / METADATA_NAME).is_file():
        return _gradescope_submissions(folder / METADATA_NAME, entries)
    exported = [entry.name for entry in entries if entry.is_dir() and SUBMISSION_FOLDER.fullmatch(entry.name)]
    if exported:
        raise BatchError(
            f"{folder} holds Gradescope submission folders ({listing(exported, 3)}) but no {METADATA_NAME}, "
            "so names and the scores Gradescope recorded are unknown. Pass the whole export (the zip from "
            "'Export Submissions'), or rename the folders to grade them as plain folders."
        )
    submissions: list[Submission] = []
    taken = {entry.name for entry in entries if entry.is_dir()}
    for entry in entries:
        if entry.is_dir():
            submissions.append(Submission(StudentText(entry.name), entry))
        elif entry.suffix.lower() in (*SUBMISSION_SUFFIXES, ".zip"):  # a zip is a student's too: its row says to unzip it
            submissions.append(Submission(StudentText(entry.stem if entry.stem not in taken else entry.name), entry))
            taken.add(submissions[-1].id)
        else:
            warn(f"skipping {entry}: neither a folder, a .py file, a notebook nor a zip, so no one's submission")
    if not submissions:
        raise BatchError(
            f"No submissions in {folder}: expected a Gradescope export (with {METADATA_NAME}), one folder per student, or .py files."
        )
    return submissions


def _entries(folder: Path, skip: Path | None) -> list[Path]:
    """The folder's visible entries in natural order, without symlinks or the output folder."""
    skip_real = skip.resolve() if skip is not None and skip.exists() else None
    entries = []
    for entry in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.name.startswith(".") or entry.name in IGNORED_NAMES or entry.resolve() == skip_real:
            continue
        if entry.is_symlink():
            warn(f"skipping {entry}: a symbolic link, which could point anywhere on this machine")
            continue
        entries.append(entry)
    return entries


def _gradescope_submissions(metadata: Path, entries: list[Path]) -> list[Submission]:
    folders = {entry.name: entry for entry in entries if entry.is_dir()}
    submissions = [_from_metadata(metadata, key, entry, folders.pop(str(key), None)) for key, entry in _read_metadata(metadata).items()]
    for name, path in folders.items():
        match = SUBMISSION_FOLDER.fullmatch(name)
        if match:
            warn(f"{name} is not in {METADATA_NAME}; it is graded without names or a recorded score")
            submissions.append(Submission(match.group(1), path))
        else:
            warn(f"ignoring {path}: not a submission_<id> folder")
    return sorted(submissions, key=lambda s: natural_key(s.id))


MAX_METADATA_BYTES = 64 << 20  # a class of thousands with every earlier result is a few MB
MAX_METADATA_DEPTH = 32  # Gradescope's own nests about six deep (a submission, :results, tests, ...)


def _read_metadata(path: Path) -> dict[str, Any]:
    """The export's metadata as plain data: strings, lists and mappings only, no aliases, within a size bound.

    The file is student-influenced (names, earlier results), so it is read the
    way that cannot cost more than its size: every scalar stays a string (no
    dates, no tags), and an alias, which lets 1 KB of YAML stand for gigabytes,
    refuses the file. Gradescope's own exports use neither.
    """
    import yaml

    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise BatchError(
                f"{path} is over {MAX_METADATA_BYTES >> 20} MB, far more than an export's metadata. "
                "Export the submissions again from Gradescope."
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BatchError(f"cannot read {path}: {error}") from None
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        _check_metadata_shape(path, yaml.parse(text, Loader=loader))
        data = yaml.load(text, Loader=loader)
    except (yaml.YAMLError, RecursionError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise BatchError(
            f"{path} is not valid YAML{where}: {getattr(error, 'problem', None) or error}. Export the submissions again from Gradescope."
        ) from None
    if not isinstance(data, dict) or not data:
        raise BatchError(
            f"{path} should map each submission_<id> to its :submitters, :created_at and :score, "
            f"but it holds {'nothing' if not data else 'a ' + type(data).__name__}."
        )
    return data


def _check_metadata_shape(path: Path, events: Iterator[Any]) -> None:
    """Refuse, before anything is built, YAML whose aliases or nesting could cost far more than its size.

    Deep nesting is refused as soon as it is seen: libyaml's loader overflows
    the C stack on it, and even its event parser slows down with each level.
    """
    import yaml

    hazard = yaml_hazard(events, MAX_METADATA_DEPTH)
    if isinstance(hazard, yaml.AliasEvent):
        raise BatchError(
            f"{path} line {hazard.start_mark.line + 1} uses a YAML alias (*{hazard.anchor}), which an export "
            "never does. Export the submissions again from Gradescope."
        )
    if hazard is not None:
        raise BatchError(
            f"{path} line {hazard.start_mark.line + 1} nests more than {MAX_METADATA_DEPTH} levels deep, "
            "which an export never does. Export the submissions again from Gradescope."
        )


def _from_metadata(path: Path, key: Any, entry: Any, folder: Path | None) -> Submission:
    """One metadata entry, checked: Gradescope writes Ruby symbols, so keys start with a colon."""
    match = SUBMISSION_FOLDER.fullmatch(str(key))
    if not match:
        raise BatchError(f"{path}: the key {key!r} is not of the form submission_<id>.")
    if not isinstance(entry, dict):
        raise BatchError(f"{path}: {key} should be a mapping with :submitters, :created_at and :score.")
    people = _symbol(entry, "submitters")
    if not isinstance(people, list) or not people or not all(isinstance(person, dict) for person in people):
        raise BatchError(f"{path}: {key} needs a :submitters list, each person with :name, :sid and :email.")
    try:
        score = _score(_symbol(entry, "score"))  # None until Gradescope has graded it
    except ValueError:
        raise BatchError(f"{path}: {key} has :score {_symbol(entry, 'score')!r}, which is not a number.") from None
    return Submission(
        id=match.group(1),
        path=folder,
        submitters=[{name: _text(_symbol(person, name)) for name in ("name", "sid", "email")} for person in people],
        created_at=_text(_symbol(entry, "created_at")),
        recorded_score=score,
    )


def _symbol(mapping: dict[str, Any], name: str) -> Any:
    return mapping.get(f":{name}", mapping.get(name))


def _score(value: Any) -> float | None:
    """A score read as a plain string: its number, or None when there is none yet. Raises ValueError for anything else."""
    if value is None or value in ("", "~", "null", "Null", "NULL"):
        return None
    number = float(value) if isinstance(value, str) else math.nan  # a list or mapping is no score
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _text(value: Any) -> StudentText:
    """A scalar as text (the student's: a name, an e-mail); anything else (a list or mapping where a name belongs) as nothing."""
    if value is None or value in ("~", "null", "Null", "NULL"):
        return StudentText("")
    return StudentText(value if isinstance(value, str) else "")
