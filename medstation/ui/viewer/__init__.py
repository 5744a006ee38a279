"""Slice views, MPR layout, viewer tools and overlay layers."""
