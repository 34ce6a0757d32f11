"""Setting the bot up on a real server: the invite URL and the checks ``doctor`` runs (pure: the
facts come from console/discord, the verdicts are computed here without a network)."""
