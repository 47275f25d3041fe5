"""Datasets, training recipes, cross-validated evaluation and the robustness benchmark."""
