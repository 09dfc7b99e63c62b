"""Step types: what a sequence can do. Built-ins register through `register_recovery_steps`."""
