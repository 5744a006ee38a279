"""File > Export…: the open series, the AI result and the key images leave the workstation through the writers of
:mod:`medstation.io.export` (and :mod:`medstation.io.pacs` for a PACS node), in jobs.

Modules: :mod:`.reading` (what is open, taken as a snapshot for an export), :mod:`.key_images` (the images the
reader flagged), :mod:`.tasks` (each export as one job function, the questions it may come back with),
:mod:`.export_dialog` (the dialog: what, where, progress, cancel, the questions asked).
"""
