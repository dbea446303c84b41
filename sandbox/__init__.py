"""The sandbox: the real bot against the project's fake Slack, with a Slack-like page in the browser.

`make sandbox` (or `python app.py --sandbox`) starts it. Nothing here is imported by the bot itself:
the composition root (app.py) chooses the sandbox, and the sandbox composes the same `app.build()`.
"""
