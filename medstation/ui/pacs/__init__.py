"""The PACS window: node manager with Echo, query form, results by patient, study and series, retrieve into the study
browser, send the open series, and MedStation's Storage SCP for pushes (``io/pacs``, every call a job)."""
