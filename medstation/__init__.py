"""MedStation: a desktop imaging workstation with offline AI analysis."""

__version__ = "0.1.0"
