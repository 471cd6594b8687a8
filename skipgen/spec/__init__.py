"""The spec language: YAML loading with positions, pydantic models, error locations."""
