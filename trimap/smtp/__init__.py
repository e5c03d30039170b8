"""SMTP: the client trimap speaks to an account's outgoing server with (no HTTP, no Redis)."""

from trimap.smtp.client import SmtpClient, SmtpError, SmtpReply, SmtpTimeouts, open_smtp_client

__all__ = ["SmtpClient", "SmtpError", "SmtpReply", "SmtpTimeouts", "open_smtp_client"]
