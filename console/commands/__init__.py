"""The commands' work, one module per command or family (console/cli parses the arguments and
calls them; it alone puts the runtime, the simulator and the console app together)."""
