"""trimap: a REST API and webhooks over IMAP and SMTP accounts."""

__version__ = "0.1.0"
