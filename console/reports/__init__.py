"""Reports over the store: what happened in a period (actions per moderator and type, denials,
break-glass and overrides, alerts, role changes). ``compute`` reads; ``render`` writes Markdown
and JSON; ``schedule`` runs them weekly or monthly inside ``collect``. No Textual here."""
