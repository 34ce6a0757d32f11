"""Plain data and pure logic with no I/O: action types, permissions, snowflakes, sanitising."""
