"""A faithful, stateful Flask mock of SuperOffice's Webhook agent."""
