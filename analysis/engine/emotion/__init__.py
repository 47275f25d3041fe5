"""Emotion of speech turns, the voice baseline and per-recording summaries."""
