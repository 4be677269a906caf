"""One trainer per run folder: a lock file with the owner's process id, host and heartbeat.

`run.lock` in the run folder says who trains there. A second trainer on the same folder
is refused with a message naming the owner. A lock whose owner is gone is detected and
reported (a warning naming it) before it is taken over:
- on the same machine, when the owner's process id no longer runs;
- from another machine (a Drive folder shared by two runtimes), when the owner's
  heartbeat, rewritten every HEARTBEAT_S seconds, is older than STALE_AFTER_S; a
  disconnected Colab runtime's lock thus goes stale a few minutes after it died.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
import warnings
from pathlib import Path

from helpers.core.files import HOST, atomic_write, pid_alive

LOCK_NAME = "run.lock"
HEARTBEAT_S = 30
STALE_AFTER_S = 300

_held: dict[str, "RunLock"] = {}  # folders this process holds, so a re-run cell in one kernel is told apart


class RunLockError(RuntimeError):
    """Another live trainer holds the run folder."""


def _age(ts: float) -> str:
    s = max(0, int(time.time() - ts))
    return f"{s} s" if s < 120 else f"{s // 60} min"


class RunLock:
    """Acquire with `acquire()` (or `with RunLock(folder):`); release with `release()`."""

    def __init__(self, folder: str | os.PathLike, heartbeat_s: float = HEARTBEAT_S,
                 stale_after_s: float = STALE_AFTER_S):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.heartbeat_s, self.stale_after_s = heartbeat_s, stale_after_s
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _info(self) -> dict:
        return {"pid": os.getpid(), "host": HOST, "token": self.token,
                "started": getattr(self, "_started", time.time()), "heartbeat": time.time()}

    def _write(self) -> None:
        info = json.dumps(self._info())
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(info))

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # half-written or garbled: judged by the file's age below

    def _stale_reason(self, info: dict) -> str | None:
        """Why the lock described by `info` is stale, or None while its owner may be alive."""
        if not info:
            age = time.time() - self.path.stat().st_mtime
            return f"an unreadable lock file last touched {_age(self.path.stat().st_mtime)} ago" \
                if age > self.stale_after_s else None
        pid, host = info.get("pid", -1), info.get("host")
        if host == HOST:
            if pid == os.getpid():
                held = _held.get(str(self.folder.resolve()))
                if held is not None and held.token == info.get("token") and held._thread is not None:
                    return None  # a live trainer in this very process
                return f"a lock left by this process (pid {pid}) after an interrupted run"
            return None if pid_alive(pid) else f"process {pid} on this machine, which no longer runs"
        beat = float(info.get("heartbeat", 0))
        if time.time() - beat > self.stale_after_s:
            return f"process {pid} on {host}, silent for {_age(beat)}"
        return None

    def acquire(self) -> "RunLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        self._started = time.time()
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            with os.fdopen(fd, "w") as f:
                json.dump(self._info(), f)
        except FileExistsError:
            info = self._read()
            if info is not None:
                reason = self._stale_reason(info)
                if reason is None:
                    raise RunLockError(
                        f"{self.folder} is in use by process {info.get('pid')} on {info.get('host')} (started "
                        f"{_age(info.get('started', 0))} ago, last heartbeat {_age(info.get('heartbeat', 0))} ago). "
                        "Two trainers in one run folder would mix their checkpoints: wait for it to finish, "
                        f"stop it, or pick another run name. If that machine is gone, its lock goes stale "
                        f"{self.stale_after_s:.0f} s after its last heartbeat, or delete {self.path}.") from None
                warnings.warn(f"{self.path}: stale lock of {reason}; taking the run folder over", stacklevel=3)
            self._write()
            time.sleep(0.05)  # two takers racing: the last rename wins, the other sees it is not theirs
            if (self._read() or {}).get("token") != self.token:
                raise RunLockError(f"{self.folder}: another trainer took the run folder at the same moment")
        _held[str(self.folder.resolve())] = self
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {self.folder.name}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            info = self._read()
            if info and info.get("token") != self.token:
                return  # taken over (we were judged stale): leave it to the new owner
            # gone or unreadable (a Drive hiccup, a half-synced copy): still ours, so rewrite it
            try:
                self._write()
            except OSError:
                pass  # a Drive hiccup: the next beat tries again

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        _held.pop(str(self.folder.resolve()), None)
        if (self._read() or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
