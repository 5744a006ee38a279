"""PACS connectivity over DIMSE (pynetdicom) and DICOMweb (dicomweb-client): configured nodes, echo, query,
retrieve into the storage folder and the study database, send, and MedStation's own Storage SCP.

Modules: :mod:`.nodes` (the nodes and MedStation's own identity, in the settings), :mod:`.secrets` (passwords and
tokens: keyring or session only), :mod:`.query` (filters and matches), :mod:`.operations` (the verbs below),
:mod:`.associations`, :mod:`.dimse`, :mod:`.dimse_retrieve`, :mod:`.dimse_send` (DIMSE), :mod:`.dicomweb`
(DICOMweb), :mod:`.listener` (Storage SCP), :mod:`.storage` (received instances written whole and indexed),
:mod:`.outgoing` (the files a send names), :mod:`.errors`.
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "errors": ("PacsError", "TransferAborted"),
    "nodes": ("LocalStation", "PacsNode", "find_node", "load_local", "load_nodes", "remove_node", "save_local",
              "save_node"),
    "query": ("LEVELS", "PacsMatch", "QueryFilters"),
    "operations": ("RetrieveSummary", "SendSummary", "echo", "find", "retrieve", "send_files"),
    "listener": ("ReceivedBatch", "StorageListener"),
    "storage": ("ReceivedStore",),
    "secrets": ("forget_secret", "keyring_problem", "remember_for_session", "secret_variable", "store_secret"),
})
