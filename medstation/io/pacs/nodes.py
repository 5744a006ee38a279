"""The PACS nodes MedStation talks to, and MedStation's own DICOM identity: kept in ``settings.json`` (section
``pacs``, through ``medstation/settings.py``), never with a password or token in it (those live in the system
keyring or only for the session: ``secrets.py``).

A DIMSE node is an AE title, a host and a port; a DICOMweb node is a base URL (the one QIDO-RS, WADO-RS and STOW-RS
paths follow, such as ``http://pacs:8042/dicom-web``) with optional basic or bearer authentication. MedStation's own
identity (:class:`LocalStation`) is the AE title it calls with and the address its Storage SCP listens on
(loopback by default), and whether that SCP accepts studies pushed to it unasked.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from medstation.io.pacs.errors import PacsError
from medstation.settings import load_section, save_section, warn_once

SECTION = "pacs"
AUTH_METHODS = ("none", "basic", "bearer")
DEFAULT_TIMEOUT_S = 30.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class PacsNode:
    """A remote DICOM node: DIMSE (``ae_title``, ``host``, ``port``) or DICOMweb (``url``)."""

    name: str
    ae_title: str = ""
    host: str = ""
    port: int = 0
    url: str = ""
    auth: str = "none"
    """DICOMweb authentication: ``none``, ``basic`` (``username`` and a password) or ``bearer`` (a token)."""
    username: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """How long to wait for the node to connect and to answer each message (seconds)."""

    @property
    def kind(self) -> str:
        return "dicomweb" if self.url else "dimse"

    @property
    def address(self) -> str:
        return self.url if self.url else f"{self.ae_title}@{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    @property
    def needs_secret(self) -> bool:
        return self.kind == "dicomweb" and self.auth != "none"

    def as_dict(self) -> dict:
        if self.kind == "dicomweb":
            fields = {"name": self.name, "url": self.url, "auth": self.auth}
            if self.auth == "basic":
                fields["username"] = self.username
        else:
            fields = {"name": self.name, "ae_title": self.ae_title, "host": self.host, "port": self.port}
        fields["timeout_s"] = self.timeout_s
        return fields


@dataclass(frozen=True)
class LocalStation:
    """MedStation's own DICOM identity and Storage SCP."""

    ae_title: str = "MEDSTATION"
    port: int = 11112
    bind_address: str = "127.0.0.1"
    """The address the Storage SCP listens on: loopback by default; ``0.0.0.0`` for every interface."""
    accept_pushes: bool = False
    """Whether the Storage SCP stores what a PACS or modality sends unasked (not in answer to our C-MOVE)."""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_ae_title(value: str, what: str = "AE title") -> str:
    """An AE title as DICOM allows it (1-16 characters, no backslash or control character, not only spaces)."""
    title = value.strip()
    if not title or len(title) > 16 or "\\" in title or any(ord(char) < 32 for char in title):
        raise PacsError(f"{what} {value!r}: expected 1 to 16 characters, without backslash or control characters")
    return title


def check_port(value: int, what: str = "port") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise PacsError(f"{what} {value!r}: expected a TCP port number from 1 to 65535")
    return value


def check_node(node: PacsNode) -> PacsNode:
    """The node with its fields checked and tidied; :class:`PacsError` naming the field that is wrong."""
    if not _NAME.match(node.name or ""):
        raise PacsError(f"node name {node.name!r}: expected letters, digits, '.', '_' or '-' (at most 64)")
    if not isinstance(node.timeout_s, (int, float)) or not 0 < node.timeout_s <= 3600:
        raise PacsError(f"{node.name}: timeout {node.timeout_s!r}: expected seconds between 0 and 3600")
    if node.url:
        parsed = urlparse(node.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PacsError(f"{node.name}: URL {node.url!r}: expected http://HOST[:PORT]/PATH or https://...")
        if parsed.username or parsed.password:
            raise PacsError(f"{node.name}: put no user name or password in the URL; use --auth and --user")
        if node.auth not in AUTH_METHODS:
            raise PacsError(f"{node.name}: authentication {node.auth!r}: expected one of {', '.join(AUTH_METHODS)}")
        if node.auth == "basic" and not node.username:
            raise PacsError(f"{node.name}: basic authentication needs a user name")
        username = node.username if node.auth == "basic" else ""
        return dataclasses.replace(node, url=node.url.rstrip("/"), ae_title="", host="", port=0, username=username,
                                   timeout_s=float(node.timeout_s))
    if not node.host:
        raise PacsError(f"{node.name}: give a DICOMweb URL, or an AE title, host and port")
    return dataclasses.replace(node, ae_title=check_ae_title(node.ae_title, f"{node.name}: AE title"),
                               port=check_port(node.port, f"{node.name}: port"), auth="none", username="",
                               timeout_s=float(node.timeout_s))


def check_local(local: LocalStation) -> LocalStation:
    try:
        ipaddress.ip_address(local.bind_address)
    except ValueError as error:
        raise PacsError(f"listening address {local.bind_address!r}: expected an IP address such as 127.0.0.1 "
                        "(this computer only) or 0.0.0.0 (every interface)") from error
    return dataclasses.replace(local, ae_title=check_ae_title(local.ae_title, "MedStation's AE title"),
                               port=check_port(local.port, "listening port"))


def _section() -> dict:
    section = load_section(SECTION)
    return section if isinstance(section, dict) else {}


def load_nodes() -> list[PacsNode]:
    """The configured nodes, in the order they were added; a damaged entry is left out with one warning line."""
    nodes = []
    for entry in _section().get("nodes", []) or []:
        try:
            if not isinstance(entry, dict):
                raise PacsError("not an object")
            known = {field.name for field in dataclasses.fields(PacsNode)}
            nodes.append(check_node(PacsNode(**{key: value for key, value in entry.items() if key in known})))
        except (PacsError, TypeError) as error:
            warn_once(None, f"has a PACS node that cannot be used ({error})", "the other nodes")
    return nodes


def find_node(name: str) -> PacsNode:
    """The node called ``name``; :class:`PacsError` listing the known ones otherwise."""
    nodes = load_nodes()
    for node in nodes:
        if node.name == name:
            return node
    known = ", ".join(node.name for node in nodes) or "none yet"
    raise PacsError(f"{name}: no such PACS node (configured: {known}); add it with 'medstation pacs nodes add'")


def save_node(node: PacsNode) -> PacsNode:
    """Add ``node``, or replace the node of the same name; returns it as saved."""
    node = check_node(node)
    nodes = [other for other in load_nodes() if other.name != node.name]
    _save([*nodes, node], load_local())
    return node


def remove_node(name: str) -> PacsNode:
    node = find_node(name)
    _save([other for other in load_nodes() if other.name != name], load_local())
    return node


def load_local() -> LocalStation:
    entry = _section().get("local")
    if not isinstance(entry, dict):
        return LocalStation()
    try:
        known = {field.name for field in dataclasses.fields(LocalStation)}
        return check_local(LocalStation(**{key: value for key, value in entry.items() if key in known}))
    except (PacsError, TypeError) as error:
        warn_once(None, f"has MedStation's DICOM settings wrong ({error})", "the defaults")
        return LocalStation()


def save_local(local: LocalStation) -> LocalStation:
    local = check_local(local)
    _save(load_nodes(), local)
    return local


def _save(nodes: list[PacsNode], local: LocalStation) -> None:
    section = _section()
    section["nodes"] = [node.as_dict() for node in nodes]
    section["local"] = local.as_dict()
    save_section(SECTION, section)
