"""SMTP: the client trimap speaks to an account's outgoing server with (no HTTP, no Redis)."""

from trimap.smtp.client import (
    SendResult,
    SmtpClient,
    SmtpError,
    SmtpReply,
    SmtpTimeouts,
    open_smtp_client,
)

__all__ = ["SendResult", "SmtpClient", "SmtpError", "SmtpReply", "SmtpTimeouts", "open_smtp_client"]
