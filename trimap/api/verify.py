"""``POST /v1/verifyAccount``: would these IMAP and SMTP settings work?

The body is ``{"imap"?, "smtp"?}`` in the account schema (``smtp: false``
means "not this one"), plus ``account``, the id the auth server is asked
about when a protocol says ``useAuthServer`` (the reference never resolved
it).  Both checks run at once, each bounded by ``trimap.verify.VERIFY_TIMEOUT``;
the answer has a key per protocol asked: ``{"success": true}`` (IMAP adds
``folders`` and ``specialUse``), or ``{"success": false, "error", "code",
"cod"}`` plus the SMTP reply number as ``statusCode``.  ``cod`` repeats
``code`` under the reference's misspelt name, so its clients keep working.

Rules it keeps: a check that fails is still a 200: the request was right,
the answer is about the settings (the reference's contract for this route);
an invalid body is a 400 naming every bad field, and nothing is connected
then; nothing in the answer is a secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import trio
from quart import Blueprint, request

from trimap.accounts import InvalidAccount
from trimap.accounts.model import MAX_ID, ImapSettings, SmtpSettings, parse_imap, parse_smtp
from trimap.api.body import json_object
from trimap.api.context import runtime
from trimap.api.errors import invalid_input
from trimap.api.query import QueryParser
from trimap.verify import Verification, credentials_for, verify_imap, verify_smtp

__all__ = ["blueprint"]

blueprint = Blueprint("verify", __name__)

BODY_KEYS = frozenset({"imap", "smtp", "account"})
T = TypeVar("T")


def _answer(result: Verification) -> dict[str, Any]:
    if result.success:
        answer: dict[str, Any] = {"success": True}
        if result.folders is not None:
            answer |= {"folders": result.folders, "specialUse": dict(result.special_use)}
        return answer
    answer = {"success": False, "error": result.error, "code": result.code, "cod": result.code}
    if result.status is not None:
        answer["statusCode"] = result.status
    return answer


def _settings(raw: Any, parse: Callable[[Any], T], problems: dict[str, str]) -> T | None:
    """``raw`` parsed, ``None`` when absent or ``false``; its problems added to ``problems``."""
    if raw is None or raw is False:
        return None
    try:
        return parse(raw)
    except InvalidAccount as invalid:
        problems |= invalid.fields
        return None


def _parse(body: dict[str, Any]) -> tuple[ImapSettings | None, SmtpSettings | None, str]:
    """The IMAP and SMTP settings to check and the auth server's account id; 400 if invalid."""
    problems = {key: f'"{key}" is not allowed' for key in sorted(set(body) - BODY_KEYS)}
    imap = _settings(body.get("imap"), parse_imap, problems)
    smtp = _settings(body.get("smtp"), parse_smtp, problems)
    account = body.get("account", "")
    if not isinstance(account, str) or len(account) > MAX_ID:
        problems["account"] = f'"account" must be a string of at most {MAX_ID} characters'
    elif not account and any(s is not None and s.use_auth_server for s in (imap, smtp)):
        problems["account"] = '"account" is required to ask the auth server (useAuthServer)'
    if not problems and imap is None and smtp is None:
        problems["imap"] = 'name "imap", "smtp" or both'
    if problems:
        raise invalid_input(problems)
    return imap, smtp, account


@blueprint.post("/v1/verifyAccount")
async def verify_account() -> dict[str, Any]:
    QueryParser(request.args, allowed=()).check()  # no parameters
    body = await json_object()
    imap, smtp, account = _parse(body)
    auth_server = runtime().auth_server
    answers: dict[str, dict[str, Any]] = {}

    async def check(proto: str, verify: Callable[[], Awaitable[Verification]]) -> None:
        answers[proto] = _answer(await verify())

    async with trio.open_nursery() as nursery:
        if imap is not None:
            credentials = credentials_for(imap, auth_server, account, "imap")
            nursery.start_soon(check, "imap", partial(verify_imap, imap, credentials))
        if smtp is not None:
            credentials = credentials_for(smtp, auth_server, account, "smtp")
            nursery.start_soon(check, "smtp", partial(verify_smtp, smtp, credentials))
    return {proto: answers[proto] for proto in ("imap", "smtp") if proto in answers}
