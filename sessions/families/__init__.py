"""Consent, family portal and progress reports."""
