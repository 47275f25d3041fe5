"""Decoding, input quality, simulated recording conditions and augmentation."""
