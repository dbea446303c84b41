"""The browser sandbox: the real bot against the fake Slack, shown as a Slack-like web page."""
