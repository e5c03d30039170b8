"""FETCH responses as servers send them, parsed by imapproto, for the trimap.messages tests.

The BODYSTRUCTURE values follow what Dovecot and Gmail write for the mail of
common clients (Gmail, Thunderbird, Apple Mail, Outlook); sizes are invented.
"""

from __future__ import annotations

from imapproto import NEED_DATA, BodyStructure, Fetch, ResponseParser


def parse_fetch(response: bytes) -> Fetch:
    """The one FETCH event of ``response`` (a full ``* n FETCH (...)\\r\\n``)."""
    parser = ResponseParser()
    parser.feed(response)
    event = parser.next_event()
    assert isinstance(event, Fetch), event
    assert parser.next_event() is NEED_DATA
    return event


def parse_structure(body: bytes) -> BodyStructure:
    """A BODYSTRUCTURE value (``(...)``) as imapproto reads it."""
    structure = parse_fetch(b"* 1 FETCH (UID 1 BODYSTRUCTURE " + body + b")\r\n").bodystructure
    assert structure is not None
    return structure


#: Gmail: text and HTML alternatives.
ALTERNATIVE = (
    b'(("text" "plain" ("charset" "UTF-8") NIL NIL "7bit" 17 1 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "UTF-8") NIL NIL "quoted-printable" 2135 44 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "000000000000c8b0a605b6a5c2b1") NIL NIL NIL)'
)

#: Thunderbird: alternatives plus a PDF whose filename is RFC 2231 in the
#: disposition and RFC 2047 in the content type, and a text attachment whose
#: RFC 2231 filename is split in two continuations.
MIXED = (
    b"("
    b'(("text" "plain" ("charset" "UTF-8" "format" "flowed") NIL NIL "8bit" 120 4 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "UTF-8") NIL NIL "8bit" 480 12 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "------------alt") NIL NIL NIL)'
    b'("application" "pdf" ("name" "=?UTF-8?Q?=E2=82=AC_rates.pdf?=") NIL NIL "base64" 35270'
    b' NIL ("attachment" ("filename*" "UTF-8\'\'%E2%82%AC%20rates.pdf")) NIL NIL)'
    b'("text" "plain" ("charset" "UTF-8") NIL NIL "base64" 300 4 NIL'
    b' ("attachment" ("filename*0*" "utf-8\'\'na%C3%AFve%20" "filename*1" "notes.txt"))'
    b" NIL NIL)"
    b' "mixed" ("boundary" "------------mix") NIL ("en-US") NIL)'
)

#: Apple Mail: plain alternative to an HTML page with two images, one inline
#: with a filename, one with no disposition at all.
RELATED = (
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 30 2 NIL NIL NIL NIL)'
    b'(("text" "html" ("charset" "us-ascii") NIL NIL "quoted-printable" 700 20 NIL NIL NIL NIL)'
    b'("image" "png" ("name" "logo.png") "<logo.1234@example.com>" NIL "base64" 4096 NIL'
    b' ("inline" ("filename" "logo.png")) NIL NIL)'
    b'("image" "gif" NIL "<spacer@example.com>" NIL "base64" 60 NIL NIL NIL NIL)'
    b' "related" ("type" "text/html" "boundary" "rel") NIL NIL NIL)'
    b' "alternative" ("boundary" "alt") NIL NIL NIL)'
)

#: Outlook "forward as attachment": a note and the original message, which has
#: its own text and a photo.
FORWARD = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 25 2 NIL NIL NIL NIL)'
    b'("message" "rfc822" ("name" "Quarterly numbers.eml") NIL NIL "7bit" 1830'
    b' ("Tue, 15 Dec 2020 08:00:00 +0000" "Quarterly numbers"'
    b' (("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org"))'
    b' (("Carol" NIL "carol" "example.org")) ((NIL NIL "dave" "example.org")) NIL NIL NIL'
    b' "<inner@example.org>")'
    b' (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 40 2 NIL NIL NIL NIL)'
    b'("image" "jpeg" ("name" "photo.jpg") NIL NIL "base64" 1200 NIL'
    b' ("attachment" ("filename" "photo.jpg")) NIL NIL) "mixed" ("boundary" "inner") NIL NIL NIL)'
    b' 45 NIL ("attachment" ("filename" "Quarterly numbers.eml")) NIL NIL)'
    b' "mixed" ("boundary" "fwd") NIL NIL NIL)'
)

#: A single-part Latin-1 message in format=flowed with DelSp.
SINGLE_TEXT = (
    b'("text" "plain" ("charset" "iso-8859-1" "format" "flowed" "delsp" "yes") NIL NIL'
    b' "quoted-printable" 1234 20 NIL NIL NIL NIL)'
)

#: A scanner's mail: the whole message is one PDF.
SINGLE_PDF = (
    b'("application" "pdf" ("name" "scan.pdf") NIL NIL "base64" 5000 NIL'
    b' ("attachment" ("filename" "scan.pdf")) NIL NIL)'
)

#: A calendar invitation: plain, HTML and text/calendar alternatives.
INVITATION = (
    b'(("text" "plain" ("charset" "UTF-8") NIL NIL "7bit" 200 5 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "UTF-8") NIL NIL "7bit" 900 20 NIL NIL NIL NIL)'
    b'("text" "calendar" ("charset" "UTF-8" "method" "REQUEST") NIL NIL "7bit" 1500 40'
    b" NIL NIL NIL NIL)"
    b' "alternative" ("boundary" "cal") NIL NIL NIL)'
)


def gmail_fetch(envelope_date: bytes = b'"Thu, 17 Dec 2020 11:59:58 +0200"') -> Fetch:
    """A Gmail FETCH of the reference's sample message, with ``envelope_date`` as sent."""
    return parse_fetch(
        b"* 12 FETCH (X-GM-THRID 1686287656474925001 X-GM-MSGID 1686287656474925000"
        b' X-GM-LABELS (\\Important "Work") UID 481 MODSEQ (9012)'
        b' FLAGS (\\Seen \\Recent $Forwarded) INTERNALDATE "17-Dec-2020 09:59:59 +0000"'
        b" RFC822.SIZE 4334 ENVELOPE (" + envelope_date + b" "
        b'"=?utf-8?q?Test_message_=E2=9C=93?="'
        b' (("=?iso-8859-1?Q?Peter_P=F5der?=" NIL "Peter.Poder" "example.com"))'
        b' (("Peter Poder" NIL "peter" "example.com"))'
        b' (("Replies" NIL "replies" "example.com"))'
        b' ((NIL NIL "andris" "imapapi.com"))'
        b' ((NIL NIL "team" NIL)("=?UTF-8?B?w4VzYQ==?=" NIL "asa" "example.se")(NIL NIL NIL NIL))'
        b' (("Hidden" NIL "hidden" "example.com"))'
        b' "<parent@example.com>" " <0ebdd7b084794911b03986c827128f1b@example.com> ")'
        b" BODYSTRUCTURE " + MIXED + b")\r\n"
    )
