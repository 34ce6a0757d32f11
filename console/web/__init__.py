"""``audit-console serve``: the console in a browser tab (textual-serve), behind a login."""
