"""The words forloeb speaks to people, in Danish and English: one catalog
(:mod:`forloeb.words.catalog`) for the CLI and the web console, and the labels
of stages, triggers and events in each workflow's own terms
(:mod:`forloeb.words.labels`)."""

from __future__ import annotations

from .catalog import TEXTS, t

__all__ = ["TEXTS", "t"]
