"""Reading messages on a live connection: the IMAP side of ``trimap.messages``.

* ``text``: the decoded text of a message's parts, fetched in one FETCH, partially when limited;
  ``textid``: the text a text id lists.
* ``download``: a message or one part in windows of partial fetches, one turn each.
* ``folders``: the folders live from the server (LIST with counters), create, rename,
  (un)subscribe, delete.
* ``listing``: paged listings newest first, by page number or by a stable cursor.
* ``criteria``: the API's search criteria compiled to IMAP search keys.
* ``details``: one message in full, with headers and text.
"""
