"""The model registry: importing, staging, comparing and activating emotion models."""
