"""Alerts: rules over new audit entries and decisions (engine), their settings, the ``alerts``
table, and the runner the collecting process uses. No Textual, no hikari here."""
