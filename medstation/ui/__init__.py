"""Qt user interface. Draws and dispatches; engine work runs in ui.jobs workers."""
