"""The pure core of Turnout: golden sets, providers, replay, scorers, statistics, advisor.

Nothing in here touches a database, a queue, the web or Slack; callers pass data and
providers in and get values back.
"""
