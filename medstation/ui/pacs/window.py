"""The PACS window: configured nodes with Echo, a query form, the results by patient, study or series, retrieve
with progress into the study browser, send the open series, and MedStation's Storage SCP for pushes.

Every network call runs as a job (``ui/jobs.py``); a DICOMweb node's password or token is asked for on the GUI
thread before its job starts, and kept for the session only (``io/pacs/secrets.py``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from medstation.errors import MedStationError
from medstation.io.pacs import operations
from medstation.io.pacs.errors import PacsError
from medstation.io.pacs.listener import ReceivedBatch, StorageListener
from medstation.io.pacs.nodes import PacsNode, load_local, load_nodes, remove_node, save_local, save_node
from medstation.io.pacs.query import LEVELS, PacsMatch, QueryFilters
from medstation.io.pacs.secrets import forget_secret, remember_for_session, stored_secret
from medstation.io.pacs.storage import ReceivedStore
from medstation.ui.jobs import Job, JobRunner
from medstation.ui.pacs.node_dialog import NodeDialog
from medstation.ui.pacs.results_table import MATCH_ROLE, ResultsTable

NODE_ROLE = Qt.ItemDataRole.UserRole
REFRESH_S = 1.0
"""While a retrieve runs, the study browser is refreshed at most this often (seconds)."""
METHOD_LABELS = {"get": "C-GET", "move": "C-MOVE", "wado": "WADO-RS"}


def retrieve_matches(node: PacsNode, matches: list[PacsMatch], method: str, database_path: Path | None,
                     listener: StorageListener | None, on_recorded: Callable[[int], None] | None = None,
                     progress=None, cancel=None) -> list[operations.RetrieveSummary]:
    """Retrieve each study or series of ``matches`` (a patient's: each of its studies) one after the other."""
    wanted: list[tuple[str, str]] = []
    for match in matches:
        if match.level == "patient":
            studies = operations.find(node, QueryFilters("study", patient_id=match.patient_id), cancel=cancel)
            wanted.extend((study.study_uid, "") for study in studies)
        else:
            wanted.append((match.study_uid, match.series_uid if match.level == "series" else ""))
    summaries = []
    with ReceivedStore(database_path=database_path, on_recorded=on_recorded) as store:
        for number, (study_uid, series_uid) in enumerate(wanted):
            def step(fraction: float, message: str, number: int = number) -> None:
                if progress is not None:
                    progress((number + fraction) / len(wanted), message)

            summaries.append(operations.retrieve(node, study_uid, series_uid, method, step, cancel, store=store,
                                                 listener=listener))
    return summaries


def _call(function, *args):
    """A job for a call that takes no progress (echo, find, starting and stopping the listener)."""

    def job(progress=None, cancel=None):
        return function(*args)

    return job


def ask_node_secret(parent: QWidget, node: PacsNode) -> bool:
    """Make sure ``node``'s password or token is known for the session: asked for on the GUI thread where no
    session, environment or keyring has it; False when the user gives none."""
    if not node.needs_secret or stored_secret(node):
        return True
    what = "Password" if node.auth == "basic" else "Token"
    secret, given = QInputDialog.getText(parent, f"{node.name}: {what.lower()}", f"{what} for {node}",
                                         QLineEdit.EchoMode.Password)
    if given and secret:
        remember_for_session(node.name, secret)
        return True
    return False


class PacsWindow(QWidget):
    """A window of its own; ``studies_changed`` asks the study browser to list what arrived."""

    studies_changed = Signal()
    batch_received = Signal(object)
    files_recorded = Signal(int)

    def __init__(self, runner: JobRunner, database_path: Path | None = None,
                 open_series_files: Callable[[], list[Path]] | None = None, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("MedStation — PACS")
        self.resize(1100, 640)
        self.runner = runner
        self.database_path = database_path
        self.open_series_files = open_series_files
        self.listener: StorageListener | None = None
        self.job: Job | None = None
        self._last_refresh = 0.0
        self.batch_received.connect(self._batch_received)
        self.files_recorded.connect(self._files_recorded)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._refresh_studies)

        self.nodes = QListWidget()
        self.nodes.currentItemChanged.connect(lambda *_: self._node_chosen())
        buttons = QHBoxLayout()
        self.add_button = self._button("Add…", self.add_node, buttons)
        self.edit_button = self._button("Edit…", self.edit_node, buttons)
        self.remove_button = self._button("Remove", self.remove_current_node, buttons)
        self.echo_button = self._button("Echo", self.echo, buttons)
        local = load_local()
        self.pushes = QCheckBox(f"Receive pushes as {local.ae_title} on {local.bind_address}:{local.port}")
        self.pushes.toggled.connect(self.set_receiving)
        left = QVBoxLayout()
        left.addWidget(QLabel("PACS nodes"))
        left.addWidget(self.nodes, 1)
        left.addLayout(buttons)
        left.addWidget(self.pushes)

        self.level = QComboBox()
        for level in LEVELS:
            self.level.addItem(level.capitalize(), level)
        self.level.setCurrentIndex(self.level.findData("study"))
        self.patient_name, self.patient_id, self.dates = QLineEdit(), QLineEdit(), QLineEdit()
        self.modality, self.accession, self.description = QLineEdit(), QLineEdit(), QLineEdit()
        self.dates.setPlaceholderText("YYYYMMDD-YYYYMMDD")
        self.study_uid = ""
        form = QFormLayout()
        for label, widget in (("Level", self.level), ("Patient name", self.patient_name),
                              ("Patient ID", self.patient_id), ("Study date", self.dates), ("Modality", self.modality),
                              ("Accession", self.accession), ("Description", self.description)):
            form.addRow(label, widget)
            if isinstance(widget, QLineEdit):
                widget.returnPressed.connect(self.search)
        actions = QHBoxLayout()
        self.search_button = self._button("Search", self.search, actions)
        self.method = QComboBox()
        actions.addWidget(self.method)
        self.retrieve_button = self._button("Retrieve", self.retrieve, actions)
        self.send_button = self._button("Send open series", self.send_open_series, actions)
        self.cancel_button = self._button("Cancel", self.cancel, actions)
        self.results = ResultsTable()
        self.results.itemActivated.connect(lambda item, _column: self.open_match(item.data(0, MATCH_ROLE)))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(actions)
        right.addWidget(self.results, 1)
        right.addWidget(self.progress)
        right.addWidget(self.status)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        for layout in (left, right):
            holder = QWidget()
            holder.setLayout(layout)
            splitter.addWidget(holder)
        splitter.setSizes([300, 800])
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)
        self.refresh_nodes()
        if local.accept_pushes:
            self.pushes.setChecked(True)

    def _button(self, text: str, slot, row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    # nodes ------------------------------------------------------------------------------------------
    def refresh_nodes(self, select: str | None = None) -> None:
        current = select or (self.current_node().name if self.current_node() else None)
        self.nodes.clear()
        for node in load_nodes():
            item = QListWidgetItem(f"{node.name}\n{node.address}")
            item.setData(NODE_ROLE, node)
            self.nodes.addItem(item)
            if node.name == current:
                self.nodes.setCurrentItem(item)
        if self.nodes.currentItem() is None and self.nodes.count():
            self.nodes.setCurrentRow(0)
        self._node_chosen()

    def current_node(self) -> PacsNode | None:
        item = self.nodes.currentItem()
        return item.data(NODE_ROLE) if item is not None else None

    def _node_chosen(self) -> None:
        node = self.current_node()
        self.method.clear()
        for method in operations.METHODS[node.kind] if node else ():
            self.method.addItem(METHOD_LABELS[method], method)
        self._update_enabled()

    def _update_enabled(self) -> None:
        busy = self.job is not None and not self.job.state.finished
        has_node = self.current_node() is not None
        for button in (self.echo_button, self.search_button, self.retrieve_button, self.send_button):
            button.setEnabled(has_node and not busy)
        self.edit_button.setEnabled(has_node)
        self.remove_button.setEnabled(has_node)
        self.cancel_button.setEnabled(busy)

    def add_node(self) -> None:
        self._edit(None)

    def edit_node(self) -> None:
        self._edit(self.current_node())

    def _edit(self, node: PacsNode | None) -> None:
        dialog = NodeDialog(node, self)
        if dialog.exec():
            try:
                saved = save_node(dialog.node())
            except MedStationError as error:
                self.status.setText(str(error))
            else:
                if node is not None and node.name != saved.name:
                    remove_node(node.name)
                self.refresh_nodes(saved.name)
        dialog.deleteLater()

    def remove_current_node(self) -> None:
        node = self.current_node()
        if node is not None:
            remove_node(node.name)
            forget_secret(node.name)
            self.refresh_nodes()

    def ask_secret(self, node: PacsNode) -> bool:
        """Make sure the node's password or token is known for the session (asked for here, on the GUI thread)."""
        return ask_node_secret(self, node)

    # jobs --------------------------------------------------------------------------------------------
    def _start(self, title: str, job_function, done: Callable[[object], None]) -> Job | None:
        node = self.current_node()
        if node is None or not self.ask_secret(node):
            return None
        self.progress.setValue(0)
        self.status.setText(f"{title}…")
        self.job = self.runner.submit(title, job_function)
        self.job.progressed.connect(self._progressed)
        self.job.succeeded.connect(done)
        self.job.failed.connect(lambda error: self.status.setText(f"Failed: {error}"))
        self.job.cancelled.connect(lambda: self.status.setText(f"Cancelled: {self.job.error}"))
        self.job.finished.connect(self._update_enabled)
        self._update_enabled()
        return self.job

    def _progressed(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.status.setText(message)

    def echo(self) -> Job | None:
        node = self.current_node()
        return self._start(f"Echo {node.name}", _call(operations.echo, node),
                           lambda seconds: self.status.setText(f"{node}: answered in {1000 * seconds:.0f} ms"))

    def filters(self) -> QueryFilters:
        return QueryFilters(self.level.currentData(), self.patient_name.text(), self.patient_id.text(),
                            self.dates.text(), self.modality.text(), self.accession.text(), self.description.text(),
                            self.study_uid)

    def search(self) -> Job | None:
        try:
            filters = self.filters()
        except PacsError as error:
            self.status.setText(str(error))
            return None
        node = self.current_node()
        return self._start(f"Search {node.name}", _call(operations.find, node, filters),
                           lambda matches: self._show_matches(filters.level, matches, node))

    def _show_matches(self, level: str, matches: list[PacsMatch], node: PacsNode) -> None:
        self.results.show_matches(level, matches)
        self.progress.setValue(1000)
        plural = {"patient": "patients", "study": "studies", "series": "series"}[level]
        self.status.setText(f"{len(matches)} {level if len(matches) == 1 else plural} on {node.name}")

    def open_match(self, match: PacsMatch | None) -> Job | None:
        """A patient row shows the patient's studies; a study row its series."""
        if match is None or match.level == "series":
            return None
        if match.level == "patient":
            self.level.setCurrentIndex(self.level.findData("study"))
            self.patient_id.setText(match.patient_id)
            self.study_uid = ""
        else:
            self.level.setCurrentIndex(self.level.findData("series"))
            self.study_uid = match.study_uid
        job = self.search()
        self.study_uid = ""
        return job

    def retrieve(self) -> Job | None:
        matches = self.results.selected_matches()
        if not matches:
            self.status.setText("Select a patient, study or series to retrieve.")
            return None
        node, method = self.current_node(), self.method.currentData()
        listener = self.listener if method == "move" else None
        job = self._start(f"Retrieve from {node.name}", lambda progress=None, cancel=None: retrieve_matches(
            node, matches, method, self.database_path, listener, self.files_recorded.emit, progress, cancel),
            self._retrieved)
        if job is not None:
            job.finished.connect(self._refresh_studies)
        return job

    def _files_recorded(self, count: int) -> None:
        """Files were listed in the study database: show them, at most every :data:`REFRESH_S` seconds."""
        wait = REFRESH_S - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self._refresh_studies()
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start(round(1000 * wait))

    def _refresh_studies(self) -> None:
        self._refresh_timer.stop()
        self._last_refresh = time.monotonic()
        self.studies_changed.emit()

    def _retrieved(self, summaries: list) -> None:
        received = sum(summary.received for summary in summaries)
        present = sum(summary.already_present for summary in summaries)
        self.progress.setValue(1000)
        self.status.setText(f"Retrieved {received} instances of {len(summaries)} "
                            f"{'study or series' if len(summaries) == 1 else 'studies or series'}"
                            f"{f' ({present} already present, not transferred again)' if present else ''}; they "
                            "are in the study browser")

    def send_open_series(self) -> Job | None:
        files = self.open_series_files() if self.open_series_files is not None else []
        if not files:
            self.status.setText("Open a series from the study browser to send it.")
            return None
        node = self.current_node()
        return self._start(f"Send to {node.name}", lambda progress=None, cancel=None: operations.send_files(
            node, files, progress, cancel), lambda summary: self.status.setText(
            f"Sent {summary.sent} instances to {node}"
            + (f"; refused {len(summary.refused)}: {summary.refused[0][1]}" if summary.refused else "")))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    # the Storage SCP -----------------------------------------------------------------------------------
    def set_receiving(self, on: bool) -> Job | None:
        """Start or stop MedStation's Storage SCP accepting pushes (the choice is saved)."""
        local = save_local(dataclasses.replace(load_local(), accept_pushes=on))
        if on and self.listener is None:
            store = ReceivedStore(database_path=self.database_path, on_recorded=self.files_recorded.emit)
            self.listener = StorageListener(local, store, accept_pushes=True, on_batch=self.batch_received.emit)
            job = self.runner.submit("Start the Storage SCP", _call(self.listener.start))
            job.failed.connect(self._listener_failed)
            job.succeeded.connect(lambda _: self.status.setText(
                f"Receiving pushes as {local.ae_title} on {local.bind_address}:{local.port}"))
            return job
        if not on and self.listener is not None:
            listener, self.listener = self.listener, None
            job = self.runner.submit("Stop the Storage SCP", _call(listener.stop))
            job.succeeded.connect(lambda _: self.status.setText("No longer receiving pushes"))
            return job
        return None

    def _listener_failed(self, error: BaseException) -> None:
        self.listener = None
        self.status.setText(f"Failed: {error}")
        self.pushes.blockSignals(True)
        self.pushes.setChecked(False)
        self.pushes.blockSignals(False)

    def _batch_received(self, batch: ReceivedBatch) -> None:
        self.status.setText(f"Received {batch.instances} instances from {batch.calling_ae_title} ({batch.address})")
        self.studies_changed.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None:
            self.job.cancel()
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        super().closeEvent(event)
