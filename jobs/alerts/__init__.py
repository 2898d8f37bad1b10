"""Alert delivery: outbox rows to Slack (slack_sdk) and webhooks, exactly once to a Slack channel."""
