"""Publishing a model directory: replace it file by file, never leaving a moment without a model.

A new directory appears with one rename. Into an existing one, each new file is renamed over its
old version and ``config.json`` comes last: that rename is the commit. Before the first rename a
journal (``.DIR.old-*`` beside the directory) records the plan and keeps hard links to the old
files, so a job that dies part-way is undone (before the commit) or completed (after it) by the
next job that takes the output lock (``clean_leftovers``), which also removes the temporary
directories and stdin copies that dead jobs left. Only names the caller says are ours are
replaced or removed: files a user added to a model directory stay.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from nlpkit.errors import ArtifactError
from nlpkit.safeio import write_text_atomic

CONFIG = "config.json"
_JOURNAL = "journal.json"


def _describe(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def publish(tmp: Path, out: Path, ours: set[str] | None = None) -> None:
    """Move the files of ``tmp`` into ``out``; only the names in ``ours`` may be replaced or removed.

    A new directory appears with one rename. Into an existing one, each file is renamed over its
    old version and ``config.json`` comes last; the journal beside it lets a crash be undone.
    """
    out = Path(os.path.abspath(out))
    if not out.exists():
        os.rename(tmp, out)
        return
    new = sorted(p.name for p in tmp.iterdir())
    ours = ours or set()
    clash = [n for n in new if os.path.lexists(out / n) and n not in ours]
    if clash:
        raise ArtifactError(
            f"{out} holds files nlpkit did not write that the new model would overwrite ({_describe(clash)})",
            "move them away or choose another output directory",
        )
    replaced = [n for n in new if os.path.lexists(out / n)]
    plan = {
        "replaced": replaced,
        "added": [n for n in new if n not in replaced],
        "stale": sorted(n for n in ours if n not in new and os.path.lexists(out / n)),
    }
    journal = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
    try:
        write_text_atomic(journal / _JOURNAL, json.dumps(plan))
        for name in replaced:
            _keep(out / name, journal / name)  # the old version survives until the commit
        for name in sorted(new, key=lambda n: n == CONFIG):  # config.json last: the commit point
            os.replace(tmp / name, out / name)
    except BaseException:
        _roll_back(journal, out, plan)
        raise
    _finish(journal, out, plan)


def _keep(src: Path, dst: Path) -> None:
    """A hard link (no copy); a copy where the filesystem has no hard links."""
    if src.is_dir() and not src.is_symlink():
        raise ArtifactError(f"{src} is a directory where the new model has a file", "move it away or choose another output directory")
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _roll_back(journal: Path, out: Path, plan: Mapping[str, list[str]]) -> None:
    for name in plan["replaced"]:
        if (journal / name).exists():
            os.replace(journal / name, out / name)
    for name in plan["added"]:
        _remove(out / name)
    shutil.rmtree(journal, ignore_errors=True)


def _finish(journal: Path, out: Path, plan: Mapping[str, list[str]]) -> None:
    for name in plan["stale"]:
        _remove(out / name)
    shutil.rmtree(journal, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def recover(journal: Path, out: Path) -> str:
    """Complete or undo a publish that died (``.DIR.old-*``): "rolled back" or "completed"."""
    try:
        plan = json.loads((journal / _JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        legacy = journal / out.name  # earlier nlpkit versions moved the whole old model aside here
        if legacy.is_dir() and not os.path.lexists(out):
            os.rename(legacy, out)
            shutil.rmtree(journal, ignore_errors=True)
            return "restored"
        shutil.rmtree(journal, ignore_errors=True)  # died before the journal was written: nothing moved
        return "removed"
    if CONFIG in plan["replaced"]:
        old = journal / CONFIG
        committed = not (old.exists() and (out / CONFIG).exists() and os.path.samefile(old, out / CONFIG))
    else:
        committed = (out / CONFIG).exists()
    if committed:
        _finish(journal, out, plan)
        return "completed"
    _roll_back(journal, out, plan)
    return "rolled back"


def _leftover_pattern(out: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(out.name)}\.(tmp|old|stdin)-(?:(\d+)-)?[A-Za-z0-9_]+")


# safeio's temporary files (``.NAME.tmp-PID-XXXXXXXX``) and older checkpoint temporaries.
_INNER_TEMP = re.compile(r"\..+\.tmp-\d+-[a-z0-9_]{8}|\.checkpoint\.pt\.[a-z0-9_]{8}")


def is_temp_name(name: str) -> bool:
    """A temporary file that a job of ours writes inside an output directory."""
    return _INNER_TEMP.fullmatch(name) is not None


def clean_leftovers(out_dir: str | Path) -> list[str]:
    """Remove (or recover) what dead jobs left beside and inside ``out_dir``; call it holding the lock.

    The caller's lock proves every earlier writer of ``out_dir`` is gone, so their temporary
    directories, stdin copies, temporary files and publish journals are debris.
    """
    out = Path(os.path.abspath(out_dir))
    cleaned: list[str] = []
    if not out.parent.is_dir():
        return cleaned
    pattern = _leftover_pattern(out)
    for p in sorted(out.parent.iterdir()):
        match = pattern.fullmatch(p.name)
        if match is None or (match.group(2) and int(match.group(2)) == os.getpid()):
            continue
        if match.group(1) == "old":
            cleaned.append(f"{p.name} ({recover(p, out)})")
        else:
            _remove(p)
            cleaned.append(p.name)
    if out.is_dir():
        for p in sorted(out.iterdir()):
            if is_temp_name(p.name):
                _remove(p)
                cleaned.append(f"{out.name}/{p.name}")
    return cleaned
