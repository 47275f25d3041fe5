"""Scripts that compare model variants on RAVDESS (see RESULTS.md). Not imported by the app."""
