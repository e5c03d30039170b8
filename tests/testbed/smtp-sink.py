#!/usr/bin/env python3
"""smtp-sink.py - a real SMTP server (aiosmtpd) on loopback that keeps every message it receives.
(From the project's shared testbed, adapted for tests/fixtures/: see ATTRIBUTION.md.)

  smtp-sink.py start --data DIR [options]   start in the background, print SMTP_PORT=/SMTPS_PORT= lines, exit
  smtp-sink.py run   --data DIR [options]   run in the foreground (for subprocess.Popen in a test fixture)
  smtp-sink.py stop  --data DIR             stop a background instance (no-op when none)

Options:
  --port N          plain SMTP port with optional STARTTLS (default 10025; 0 = pick a free one)
  --tls-port N      implicit-TLS port ("SMTPS", like 465); default: none
  --host ADDR       address to bind, repeatable (default 127.0.0.1 and ::1 when present)
  --tls-cert F --tls-key F   certificate for STARTTLS/SMTPS (default: a self-signed one made in DIR/ssl)
  --user U --password P      only accept these credentials (default: any user/password is accepted)
  --users-dir DIR   only accept users whose passwd-file DIR/<md5 of user> (dovecot.sh's users.d) holds the
                    password given with AUTH PLAIN/LOGIN
  --tokens-dir DIR  also offer AUTH XOAUTH2, checking the bearer token against DIR/<md5 of user>
                    (dovecot.sh's tokens.d); a bad token gets Gmail's 334 JSON challenge, then 535
  --require-auth    refuse MAIL FROM before AUTH
  --lmtp SOCKET|HOST:PORT    also deliver each message to this LMTP server (e.g. dovecot.sh's LMTP_SOCKET),
                             one LMTP transaction per recipient, so it lands in the recipient's IMAP INBOX
  --no-headers      do not prepend the X-Sink-* headers to the LMTP-delivered copy

What a test can read:
  DIR/maildir/new/*      every message as received, with X-Sink-Mail-From / X-Sink-Rcpt-To /
                         X-Sink-Auth-User / X-Sink-Peer / X-Sink-TLS headers prepended
  DIR/messages.jsonl     one JSON object per message: mail_from, rcpt_tos, auth_user, tls, peer, file, lmtp
  DIR/smtp-sink.log      server log (background mode)

AUTH PLAIN and AUTH LOGIN are offered with and without TLS (loopback only). aiosmtpd is installed with pip
into the running interpreter when missing (or with apt-get as python3-aiosmtpd for Debian's python3).
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time


def ensure_aiosmtpd():
    try:
        import aiosmtpd  # noqa: F401
        return
    except ImportError:
        pass
    q = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if subprocess.call([sys.executable, "-m", "pip", "install", "-q", "aiosmtpd"], **q) == 0:
        return
    # Debian's own python3 refuses pip (PEP 668): use the Debian package and re-exec under /usr/bin/python3.
    subprocess.check_call("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                          "--no-install-recommends python3-aiosmtpd", shell=True, **q)
    if not sys.executable.startswith("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(d):
    os.makedirs(os.path.join(d, "ssl"), exist_ok=True)
    cert, key = os.path.join(d, "ssl", "cert.pem"), os.path.join(d, "ssl", "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                               "-subj", "/CN=localhost",
                               "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
                               "-keyout", key, "-out", cert],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Handler:
    def __init__(self, args):
        import mailbox
        self.args = args
        self.md = mailbox.Maildir(os.path.join(args.data, "maildir"), create=True)
        self.jsonl = os.path.join(args.data, "messages.jsonl")

    async def auth_XOAUTH2(self, server, args):
        """AUTH XOAUTH2 <base64 "user=U^Aauth=Bearer T^A^A">, checked against --tokens-dir."""
        from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except Exception:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        fields = dict(part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is not None and token == passwd_file_secret(self.args.tokens_dir, user):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # Like Gmail: a 334 with a base64 JSON error, the client answers with an empty line, then 535.
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        if await server.challenge_auth(error) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server, session, envelope):
        auth_user = None
        login = getattr(session.auth_data, "login", None)
        if session.authenticated and login is not None:
            auth_user = login.decode() if isinstance(login, bytes) else str(login)
        # session.ssl is only set after STARTTLS; for the implicit-TLS port look at the transport
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        hdr = ("X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\nX-Sink-Auth-User: %s\r\n"
               "X-Sink-Peer: %s\r\nX-Sink-TLS: %s\r\n" % (envelope.mail_from, ", ".join(envelope.rcpt_tos),
                                                      auth_user or "", peer, "yes" if tls else "no")).encode()
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        key = self.md.add(hdr + content)
        if not self.args.no_headers:
            content = hdr + content
        rec = {"time": time.time(), "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "auth_user": auth_user, "tls": tls, "peer": peer,
               "file": os.path.join(self.md._path, "new", key), "size": len(content)}
        if self.args.lmtp:
            rec["lmtp"] = await asyncio.get_running_loop().run_in_executor(
                None, self.deliver_lmtp, envelope.mail_from, envelope.rcpt_tos, content)
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 2.0.0 OK: queued as %s" % key

    def deliver_lmtp(self, mail_from, rcpts, content):
        target = self.args.lmtp
        result = {}
        for rcpt in rcpts:
            try:
                if target.startswith("/"):
                    conn = smtplib.LMTP(target, timeout=30)
                else:
                    host, _, port = target.rpartition(":")
                    conn = smtplib.LMTP(host.strip("[]"), int(port), timeout=30)
                try:
                    conn.sendmail(mail_from or "<>", [rcpt], content)
                    result[rcpt] = "delivered"
                finally:
                    conn.quit()
            except smtplib.SMTPRecipientsRefused as e:
                code, msg = e.recipients[rcpt]
                result[rcpt] = "refused %d %s" % (code, msg.decode(errors="replace"))
            except Exception as e:  # keep the sink running whatever happens
                result[rcpt] = "error %r" % (e,)
        return result


def passwd_file_secret(directory, user):
    """The {PLAIN} secret of `user` in DIRECTORY/<md5 of user> (dovecot.sh's per-user passwd-files)."""
    path = os.path.join(directory, hashlib.md5(user.encode()).hexdigest())
    try:
        with open(path) as f:
            for line in f:
                name, _, rest = line.rstrip("\n").partition(":")
                if name == user and rest.startswith("{PLAIN}"):
                    return rest[len("{PLAIN}"):].split(":", 1)[0]
    except OSError:
        pass
    return None


def authenticator_factory(args):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if args.users_dir:
            login = auth_data.login.decode(errors="replace")
            secret = passwd_file_secret(args.users_dir, login)
            if secret is None or secret != auth_data.password.decode(errors="replace"):
                return AuthResult(success=False, handled=False)
            return AuthResult(success=True, auth_data=auth_data)
        if args.user is None:
            return AuthResult(success=True, auth_data=auth_data)
        ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
        if not ok:  # handled=False: let aiosmtpd send "535 5.7.8 Authentication credentials invalid"
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)
    return authenticator


def pidfile(args):
    return os.path.join(args.data, "smtp-sink.pid")


def portsfile(args):
    return os.path.join(args.data, "ports.env")


def alive(pid):
    """True while pid runs; a zombie counts as dead (PID 1 in containers may reap exited daemons late)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def running_pid(args):
    try:
        pid = int(open(pidfile(args)).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


async def serve(args):
    import logging
    import warnings
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # silence login_data deprecation noise
    from aiosmtpd.smtp import SMTP
    handler = Handler(args)
    cert, key = (args.tls_cert, args.tls_key) if args.tls_cert else make_cert(args.data)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    hosts = args.host or (["127.0.0.1", "::1"] if has_ipv6_loopback() else ["127.0.0.1"])
    auth = authenticator_factory(args)

    def factory(implicit_tls):
        def make():
            return SMTP(handler, hostname="smtp-sink.test", ident="smtp-sink (aiosmtpd)",
                        tls_context=None if implicit_tls else ctx, enable_SMTPUTF8=True,
                        auth_required=args.require_auth, auth_require_tls=False, authenticator=auth,
                        auth_exclude_mechanism=[] if args.tokens_dir else ["XOAUTH2"],
                        data_size_limit=64 * 1024 * 1024)
        return make

    loop = asyncio.get_running_loop()
    port = args.port or free_port()
    servers = [await loop.create_server(factory(False), hosts, port)]
    tls_port = None
    if args.tls_port is not None:
        tls_port = args.tls_port or free_port()
        servers.append(await loop.create_server(factory(True), hosts, tls_port, ssl=ctx))
    with open(portsfile(args) + ".tmp", "w") as f:
        f.write("SMTP_HOST=127.0.0.1\nSMTP_PORT=%d\n" % port)
        if tls_port:
            f.write("SMTPS_PORT=%d\n" % tls_port)
        f.write("SMTP_MAILDIR=%s\nSMTP_LOG_JSONL=%s\n" % (os.path.join(args.data, "maildir"), handler.jsonl))
    os.replace(portsfile(args) + ".tmp", portsfile(args))
    with open(pidfile(args), "w") as f:
        f.write("%d\n" % os.getpid())
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("smtp-sink ready on %s port %d%s" % (hosts, port, " tls-port %d" % tls_port if tls_port else ""),
          flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    try:
        os.unlink(pidfile(args))
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["start", "run", "stop"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--port", type=int, default=10025)
    ap.add_argument("--tls-port", type=int, default=None)
    ap.add_argument("--host", action="append")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--require-auth", action="store_true")
    ap.add_argument("--users-dir")
    ap.add_argument("--tokens-dir")
    ap.add_argument("--lmtp")
    ap.add_argument("--no-headers", action="store_true")
    args = ap.parse_args()
    args.data = os.path.abspath(args.data)
    os.makedirs(args.data, exist_ok=True)

    if args.cmd == "stop":
        pid = running_pid(args)
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not alive(pid):
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
        return 0

    if args.cmd == "start":
        if running_pid(args):
            sys.stdout.write(open(portsfile(args)).read())
            return 0
        ensure_aiosmtpd()
        try:
            os.unlink(pidfile(args))
        except OSError:
            pass
        log = open(os.path.join(args.data, "smtp-sink.log"), "ab")
        rest = list(sys.argv[1:])
        rest[rest.index("start")] = "run"
        argv = [sys.executable, os.path.abspath(__file__)] + rest
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        for _ in range(400):
            if child.poll() is not None:
                sys.stderr.write(open(os.path.join(args.data, "smtp-sink.log")).read()[-3000:])
                return 1
            if running_pid(args) == child.pid:
                sys.stdout.write(open(portsfile(args)).read())
                return 0
            time.sleep(0.025)
        sys.stderr.write("smtp-sink did not come up\n")
        child.kill()
        return 1

    ensure_aiosmtpd()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
