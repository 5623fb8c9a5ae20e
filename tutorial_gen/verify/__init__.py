"""Verify: claim expressions, claims decided against metrics, the contributors' checklist."""
