"""A real Orthanc for the PACS tests, benchmark and screenshots: a temporary configuration and storage folder,
started as a child process, told apart from other runs by its ports.

Orthanc 1.10 listens on every address and cannot be bound to loopback only, so callers start it inside a private
network namespace (``private_network.py``), where 127.0.0.1 is the only address there is.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
AE_TITLE = "ORTHANC"
HOST = "127.0.0.1"


def orthanc_missing() -> str | None:
    """Why Orthanc cannot be started here (None when it can)."""
    if not ORTHANC.is_file():
        return f"needs Orthanc at {ORTHANC} (apt-get install orthanc orthanc-dicomweb)"
    if not DICOMWEB_PLUGIN.is_file():
        return f"needs Orthanc's DICOMweb plugin at {DICOMWEB_PLUGIN} (apt-get install orthanc-dicomweb)"
    return None


@dataclass
class OrthancServer:
    """One Orthanc process: DICOM on ``dicom_port``, REST and DICOMweb on ``http_port``.

    ``modalities`` are the DICOM nodes Orthanc knows (``{name: (ae_title, host, port)}``): they may query and
    retrieve, and C-MOVE sends to them; with ``strict`` (the default) any other calling AE title is rejected at
    association time. ``users`` turns on HTTP basic authentication.
    """

    folder: Path
    dicom_port: int = 4242
    http_port: int = 8042
    modalities: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    strict: bool = True
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def configuration(self) -> dict:
        return {
            "Name": "MedStation test PACS",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "index"),
            "Plugins": [str(DICOMWEB_PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "StudiesMetadata": "Full",
                         "SeriesMetadata": "Full"},
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": AE_TITLE,
            "DicomCheckCalledAet": True,
            "DicomAlwaysAllowEcho": not self.strict,
            "DicomAlwaysAllowStore": not self.strict,
            "DicomAlwaysAllowFind": not self.strict,
            "DicomAlwaysAllowGet": not self.strict,
            "DicomAlwaysAllowMove": not self.strict,
            "DicomModalities": {name: list(entry) for name, entry in self.modalities.items()},
            "DicomAssociationCloseDelay": 0,
            "RemoteAccessAllowed": True,
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "SaveJobs": False,
            "StableAge": 1,
            "HttpTimeout": 60,
            "ConcurrentJobs": 2,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
        }

    def start(self, timeout_s: float = 60.0) -> OrthancServer:
        """Start Orthanc and wait until its REST API answers; RuntimeError with its log when it does not."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.configuration(), indent=2))
        log = (self.folder / "orthanc.log").open("wb")
        self.process = subprocess.Popen([str(ORTHANC), str(config)], stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.folder, preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.get("/system")
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.folder / "orthanc.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.users:
            user, password = next(iter(self.users.items()))
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def get(self, path: str):
        return json.loads(self._request("GET", path))

    def post(self, path: str, payload) -> object:
        """POST bytes as a DICOM file, text as it is, anything else as JSON; the answer as JSON (None if empty)."""
        if isinstance(payload, bytes):
            body, kind = payload, "application/dicom"
        elif isinstance(payload, str):
            body, kind = payload.encode(), "text/plain"
        else:
            body, kind = json.dumps(payload).encode(), "application/json"
        answer = self._request("POST", path, body, kind)
        return json.loads(answer) if answer.strip() else None

    def delete(self, path: str) -> None:
        self._request("DELETE", path)

    def upload(self, *paths: Path) -> list[str]:
        """Store DICOM files through the REST API; returns Orthanc's instance IDs."""
        return [self.post("/instances", Path(path).read_bytes())["ID"] for path in paths]

    def instances(self) -> list[str]:
        return self.get("/instances")

    def clear(self) -> None:
        """Delete every patient Orthanc holds."""
        for patient in self.get("/patients"):
            self.delete(f"/patients/{patient}")

    def pause(self) -> None:
        """Stop the process (SIGSTOP): connections are still accepted by the kernel, but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """End Orthanc at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> OrthancServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before Orthanc starts: end it (SIGKILL) when the process that started it ends, however it ends."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def in_private_network() -> bool:
    """True inside a network namespace whose only interface is loopback (nothing else can be reached)."""
    try:
        import socket

        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        return False
    return names == {"lo"} and os.environ.get("MEDSTATION_PRIVATE_NETWORK") == "1"


class BearerProxy:
    """A reverse proxy in front of a server's HTTP port that lets through only requests carrying
    ``Authorization: Bearer <token>`` and answers any other with 401 and a ``WWW-Authenticate: Bearer`` challenge,
    as a DICOMweb gateway guarding a PACS with tokens does (Orthanc 1.10 has no bearer authentication of its own).

    It listens on ``HOST:port`` (inside the private network namespace), forwards what it lets through to
    ``upstream`` (host, port) without the Authorization header, and records the Authorization value of every request
    it saw in ``seen``.
    """

    def __init__(self, upstream: tuple[str, int], token: str, port: int):
        import http.server
        import threading

        self.upstream, self.token, self.port = upstream, token, port
        self.seen: list[str | None] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the test reads ``seen`` instead
                pass

            def _body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self) -> None:
                import http.client

                body = self._body()
                given = self.headers.get("Authorization")
                proxy.seen.append(given)
                if given != f"Bearer {proxy.token}":
                    self._answer(401, [("WWW-Authenticate", 'Bearer realm="dicom-web"'),
                                       ("Content-Type", "text/plain")], b"a valid bearer token is needed\n")
                    return
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ("authorization", "host", "connection", "transfer-encoding",
                                                   "content-length", "keep-alive")}
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    self._answer(answer.status, answer.getheaders(), answer.read())
                finally:
                    connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="bearer-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> BearerProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
