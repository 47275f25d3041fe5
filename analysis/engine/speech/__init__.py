"""Speech detection: where in a recording someone is speaking."""
