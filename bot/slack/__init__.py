"""The only code that knows Block Kit and the Slack Web API."""
