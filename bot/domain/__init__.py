"""Pure escalation rules. Standard library only; every function takes `now` as an argument."""
