"""Use cases in domain words. Each owns its transaction and talks to Slack only after commit."""
