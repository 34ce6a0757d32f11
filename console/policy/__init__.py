"""Policy: RBAC engine, policy file, Discord permission resolver, explain."""
