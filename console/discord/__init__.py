"""The only package that imports hikari: the gateway bot, raw REST calls, error mapping."""
