"""Role changes that are confirmed: requests (policy first), the reconciler, audit messages."""
