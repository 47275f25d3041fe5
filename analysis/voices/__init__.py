"""Voices the analysis knows: children's prints from home practice, the lanes of a run and the
names therapists give them (Django side of ``analysis.engine.speakers``)."""
