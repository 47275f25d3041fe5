"""Views of the families app: the family portal, consent, progress reports, data export."""
