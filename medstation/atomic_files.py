"""Files written atomically: the content goes to a hidden temporary name in the target's folder and is renamed over
the target once complete, so a reader, a crash or a second process never sees half a file, and a failed write
leaves nothing behind. The written file gets the mode any new file gets here, ``0666`` less the user's umask
(:func:`new_file_mode`); the temporary file is private (0600) until then.

The temporary name ends with the target's suffixes (``.nii.gz``, ``.png``), for writers that pick the format from the
name.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permission bits a newly created file gets here: ``0666`` less the umask."""
    return 0o666 & ~current_umask()


def write_atomically(target: str | os.PathLike, write: Callable[[Path], None], *, replace: bool = True,
                     durable: bool = False) -> Path:
    """Call ``write(temporary_path)`` in ``target``'s folder (which must exist), then rename the result to
    ``target``. ``replace=False``: FileExistsError when ``target`` appeared meanwhile, and it is left as it is.
    ``durable``: the content reaches the disk before the rename. Errors of ``write`` and of the file system
    propagate, with the temporary file removed."""
    target = Path(target)
    handle, name = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=f".partial{''.join(target.suffixes[-2:])}",
                                    dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, new_file_mode())
        if durable:
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
        if not replace and os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "appeared while it was being written", str(target))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_text_atomically(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and durably, creating its folder; OSError on failure, with
    nothing left behind."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"), durable=True)
