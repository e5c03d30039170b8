"""imapproto: a sans-IO IMAP client protocol library."""
