"""Therapists' enrolled voice prints (the first anchor for speaker roles)."""
