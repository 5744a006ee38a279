"""Passwords and tokens of DICOMweb nodes: in the system keyring where a usable one exists, else only for the
session. Never in ``settings.json``, never in a log line or an error message.

Without a usable keyring (none installed, only keyring's "fail" backend, or a plain-text file backend) storing is
refused; the secret is then given each session, through the environment variable :func:`secret_variable` names
(``MEDSTATION_PACS_SECRET_<NODE>``) or when MedStation asks for it (a prompt on a terminal, a dialog in the
workstation), and kept in memory until the process ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable

from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.nodes import PacsNode

SERVICE = "MedStation PACS"
_PLAIN_TEXT_BACKENDS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt.file.PlaintextKeyring")
_session: dict[str, str] = {}
_session_lock = threading.Lock()


def secret_variable(node_name: str) -> str:
    """The environment variable that gives a node's password or token for this session."""
    return "MEDSTATION_PACS_SECRET_" + re.sub(r"[^A-Z0-9]", "_", node_name.upper())


def keyring_problem() -> str | None:
    """Why secrets cannot be kept in the system keyring here (None when they can)."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        backend = keyring.get_keyring()
    except Exception as error:  # a broken keyring installation is as good as none
        return f"the keyring library cannot start ({type(error).__name__}: {error})"
    backends = backend.backends if isinstance(backend, ChainerBackend) else [backend]
    usable = [item for item in backends if not _plain_or_failing(item)]
    if not usable:
        name = f"{type(backend).__module__}.{type(backend).__name__}"
        return f"no usable system keyring (the keyring library found only {name})"
    return None


def _plain_or_failing(backend) -> bool:
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    return name.startswith(_PLAIN_TEXT_BACKENDS) or getattr(backend, "priority", 1) <= 0


def store_secret(node: PacsNode, secret: str) -> None:
    """Keep ``secret`` in the system keyring; :class:`PacsError` (saying how to give it instead) without one."""
    problem = keyring_problem()
    if problem is not None:
        raise PacsError(
            f"{node}: {problem}, so the secret is not stored; give it each session with "
            f"{secret_variable(node.name)} or when asked"
        )
    import keyring

    try:
        keyring.set_password(SERVICE, node.name, secret)
    except Exception as error:
        raise PacsError(f"{node}: the system keyring refused the secret ({type(error).__name__})") from error
    remember_for_session(node.name, secret)


def forget_secret(node_name: str) -> None:
    """Remove a node's secret from the session and, where there is one, the keyring."""
    with _session_lock:
        _session.pop(node_name, None)
    if keyring_problem() is None:
        import keyring

        with contextlib.suppress(Exception):  # nothing stored for it
            keyring.delete_password(SERVICE, node_name)


def remember_for_session(node_name: str, secret: str) -> None:
    """Keep a secret in memory until the process ends (given at a prompt or in a dialog)."""
    with _session_lock:
        _session[node_name] = secret


def stored_secret(node: PacsNode) -> str | None:
    """The node's secret from this session, the environment or the keyring; None when none of them has it."""
    with _session_lock:
        if node.name in _session:
            return _session[node.name]
    from_environment = os.environ.get(secret_variable(node.name))
    if from_environment:
        return from_environment
    if keyring_problem() is None:
        import keyring

        try:
            return keyring.get_password(SERVICE, node.name)
        except Exception:
            return None
    return None


def secret_for(node: PacsNode, ask: Callable[[PacsNode], str | None] | None = None) -> str:
    """The password or token of ``node``: stored (:func:`stored_secret`), else asked with ``ask`` and kept for the
    session; :class:`PacsError` saying how to give it when there is neither."""
    secret = stored_secret(node)
    if secret:
        return secret
    if ask is not None:
        secret = ask(node)
        if secret:
            remember_for_session(node.name, secret)
            return secret
    what = "password" if node.auth == "basic" else "token"
    raise PacsError(f"{node}: needs a {what}; set {secret_variable(node.name)} or store it with "
                    f"'medstation pacs nodes add {node.name} ... --store-secret'")
