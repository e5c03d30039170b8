"""Sending mail as an account: the Sent folder choice (more to come with the submit route)."""
