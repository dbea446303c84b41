"""Escalation bot core: domain rules, use-case services and the Slack gateway."""
