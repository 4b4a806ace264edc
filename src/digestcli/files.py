"""Atomic file writes and the content-addressed cache.

A reader never sees a half-written file: data goes to a temp file in the
same folder, is flushed to disk, then renamed over the target. Nothing written
here carries a secret: every payload passes through redaction.redact_bytes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import DigestError, os_reason
from .redaction import redact_bytes

TEMP_PREFIX = ".digest-tmp-"


def write_atomic(path: Path, data: bytes | str, temp_dir: Path | None = None, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one.

    The temp file lives in ``temp_dir`` (same filesystem; the workspace passes its
    private .digest/tmp so that even a SIGKILL mid-write leaves nothing stray in the
    folder a person reads) or, by default and as the fallback, beside ``path``.
    ``exclusive``: never replace an existing file; raise FileExistsError instead (of
    two processes creating one file at once, exactly one wins).
    """
    payload = redact_bytes(data.encode("utf-8") if isinstance(data, str) else data)  # the last line of defence
    if temp_dir is not None:
        try:
            _write_via(temp_dir, path, payload, exclusive)
            return
        except _CrossDevice:
            pass  # e.g. an issues/ folder symlinked to another disk
    _write_via(path.parent, path, payload, exclusive)


class _CrossDevice(Exception):
    pass


def _write_via(folder: Path, path: Path, payload: bytes, exclusive: bool = False) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    except OSError as error:
        raise DigestError(f"cannot write {path}: {os_reason(error)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would.
        os.chmod(temp, _existing_mode(path) or (0o666 & ~_umask()))
        if exclusive:
            _publish_new(temp, path)
        else:
            os.replace(temp, path)
    except FileExistsError:
        _remove_quietly(Path(temp))
        raise
    except OSError as error:
        _remove_quietly(Path(temp))
        if error.errno == errno.EXDEV:
            raise _CrossDevice() from None
        raise DigestError(f"cannot write {path}: {os_reason(error)}") from None
    except BaseException:
        _remove_quietly(Path(temp))
        raise


def _publish_new(temp: str, path: Path) -> None:
    """Give the finished temp file the name ``path`` unless that name exists (FileExistsError)."""
    try:
        os.link(temp, path)  # atomic, and fails with FileExistsError when the name is taken
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A filesystem without hard links: claim the name with O_EXCL, then fill it atomically.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(temp, path)
        return
    _remove_quietly(Path(temp))


def _existing_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def sha256_hex(data: bytes | str) -> str:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(payload).hexdigest()


def stable_hash(value: Any) -> str:
    """Hash of a JSON-able value, independent of dict order."""
    return sha256_hex(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


class JsonCache:
    """A folder of JSON files named by key; corrupt entries count as misses."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("cache keys are hex digests")
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        write_atomic(self._path(key), json.dumps(value, ensure_ascii=False, indent=1))

    def lock(self, key: str) -> Any:
        """A lock file beside the entry ``key``: processes that would compute the same entry take turns,
        so the second finds the first one's entry. The OS drops the lock of a process that dies."""
        from filelock import FileLock

        path = self._path(key).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path))
