"""The Access decision: what a user may use right now. See rules.py for the rule itself."""
