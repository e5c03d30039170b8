"""Reading messages on a live connection: the IMAP side of ``trimap.messages``.

* ``text``: the decoded text of a message, fetched part by part with partial fetches.
"""
