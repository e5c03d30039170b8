#!/usr/bin/env bash
# cyrus.sh - a throw-away Cyrus IMAP 3.6 server on loopback for integration tests (Debian 12, as root).
# (From the project's shared testbed, adapted for tests/fixtures/: see ATTRIBUTION.md.)
#
#   cyrus.sh start  DATA_DIR    start (or find running) instance, print ports as KEY=VALUE lines
#   cyrus.sh stop   DATA_DIR    stop it (no-op when not running)
#   cyrus.sh status DATA_DIR    exit 0 + print ports when running
#   cyrus.sh adduser DATA_DIR USER PASS   add a user or replace its password (works while running)
#   cyrus.sh deluser DATA_DIR USER        remove a user (its mailboxes stay)
#
# Self-contained: DATA_DIR holds imapd.conf, cyrus.conf, the sasldb password file, spool, TLS cert.
# Users (SASL sasldb, PLAIN/LOGIN): alice@example.test / alice-pass, bob@example.test / bob-pass.
# Env: CYRUS_IMAP_PORT CYRUS_IMAPS_PORT CYRUS_LMTP_PORT (defaults 11143/11993/11024, free ones when taken).
#      AVOID_DEFAULT_PORTS=1  pick random free ports even when the default ones are free (test sessions)
#      CYRUS_SYSLOG_PYTHON    interpreter for the /dev/log collector (default /usr/bin/python3, else python3)
# Logs: Cyrus logs only through syslog(3). When /dev/log is absent (no syslog daemon, as in containers) this
# script binds a tiny collector there that appends to DATA_DIR/log/syslog.log, and removes it on stop.
# CYRUS_SYSLOG=0 disables that (then Cyrus' log lines are simply lost).
set -euo pipefail

cmd=${1:-}
data=${2:-}
[ -n "$cmd" ] && [ -n "$data" ] || { sed -n '2,18p' "${BASH_SOURCE[0]}" >&2; exit 2; }
shift 2
data=$(realpath -m -- "$data")
portsfile=$data/ports.env
# shellcheck source=common.sh
. "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/common.sh"
[ "$(id -u)" = 0 ] || die "must run as root"

# Debian's cyrus-imapd and dovecot-imapd both "Provide: imap-server" and cyrus-imapd "Conflicts: imap-server":
# apt removes one when installing the other. So install only cyrus-common (master, lmtpd, ... no conflict)
# and unpack imapd/idled from the cyrus-imapd .deb (same version) into $CYRUS_IMAPD_ROOT, beside Dovecot.
CYRUS_IMAPD_ROOT=/opt/testbed-cyrus-imapd
# Wait for dpkg's and apt's locks (another session or a developer's apt-get) instead of failing at once.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
ensure_packages() {
  # Fast path (no lock, no apt) when everything is there.
  if [ -x /usr/lib/cyrus/bin/master ] && [ -x /usr/sbin/saslpasswd2 ] && command -v openssl >/dev/null \
     && command -v python3 >/dev/null && [ -x "$CYRUS_IMAPD_ROOT/usr/lib/cyrus/bin/imapd" ] \
     && [ -x "$CYRUS_IMAPD_ROOT/usr/lib/cyrus/bin/idled" ] && compgen -G '/usr/lib/*/sasl2/libplain.so' >/dev/null \
     && ! dpkg-query -W -f='${Status}' cyrus-imapd 2>/dev/null | grep -q 'ok installed'; then
    IMAPD_DIR=$CYRUS_IMAPD_ROOT/usr/lib/cyrus/bin
    [ "$(cat "$CYRUS_IMAPD_ROOT/version" 2>/dev/null)" = "$(dpkg-query -W -f='${Version}' cyrus-common 2>/dev/null)" ] \
      && return 0
  fi
  # Two test sessions installing at once would fight over dpkg's lock and over $CYRUS_IMAPD_ROOT.
  exec 8>/tmp/testbed-cyrus-install.lock
  flock 8
  install_packages
  flock -u 8; exec 8>&-
}
install_packages() {
  local need=()
  [ -x /usr/lib/cyrus/bin/master ] || need+=(cyrus-common)
  [ -x /usr/sbin/saslpasswd2 ] || need+=(sasl2-bin)
  ls /usr/lib/*/sasl2/libplain.so >/dev/null 2>&1 || need+=(libsasl2-modules)
  command -v openssl >/dev/null || need+=(openssl)
  command -v python3 >/dev/null || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    # cyrus-common pulls in an MTA (exim4): keep the packaged daemons from starting on install.
    local guard= rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1
    fi
    { apt_get update -qq && DEBIAN_FRONTEND=noninteractive apt_get install -y -qq \
        --no-install-recommends "${need[@]}"; } >/tmp/cyrus-sh-apt.log 2>&1 || rc=$?
    [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { cat /tmp/cyrus-sh-apt.log >&2; die "apt-get install ${need[*]} failed"; }
  fi
  if dpkg-query -W -f='${Status}' cyrus-imapd 2>/dev/null | grep -q 'ok installed' \
     && [ -x /usr/lib/cyrus/bin/imapd ]; then
    IMAPD_DIR=/usr/lib/cyrus/bin
    return 0
  fi
  IMAPD_DIR=$CYRUS_IMAPD_ROOT/usr/lib/cyrus/bin
  local ver
  ver=$(dpkg-query -W -f='${Version}' cyrus-common)
  if [ ! -x "$IMAPD_DIR/imapd" ] || [ "$(cat "$CYRUS_IMAPD_ROOT/version" 2>/dev/null)" != "$ver" ]; then
    local tmp; tmp=$(mktemp -d)
    if ! ( cd "$tmp" && { apt_get download -qq "cyrus-imapd=$ver" || { apt_get update -qq && apt_get download -qq "cyrus-imapd=$ver"; }; } ) \
      >/tmp/cyrus-sh-apt.log 2>&1; then
      # The archive keeps only the newest build of a (security) update: move cyrus-common to it, then fetch that.
      { DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends --only-upgrade cyrus-common \
        && ver=$(dpkg-query -W -f='${Version}' cyrus-common) \
        && ( cd "$tmp" && apt_get download -qq "cyrus-imapd=$ver" ); } >>/tmp/cyrus-sh-apt.log 2>&1 \
        || { cat /tmp/cyrus-sh-apt.log >&2; die "apt-get download cyrus-imapd=$ver failed"; }
    fi
    rm -rf "$CYRUS_IMAPD_ROOT"; mkdir -p "$CYRUS_IMAPD_ROOT"
    dpkg-deb -x "$tmp"/cyrus-imapd_*.deb "$CYRUS_IMAPD_ROOT"
    echo "$ver" >"$CYRUS_IMAPD_ROOT/version"
    rm -rf "$tmp"
  fi
}

alive() {  # alive PID: running and not a zombie (PID 1 in containers may reap exited daemons late); no fork
  local st
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
master_pid() {
  local f=$data/master.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f"); alive "$pid" && echo "$pid"
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
avoid_defaults=${AVOID_DEFAULT_PORTS:-0}
pick_port() {
  if [ -n "$1" ]; then echo "$1"; elif [ "$avoid_defaults" = 0 ] && port_free "$2"; then echo "$2"
  else  # random free port below the ephemeral range
    local lo=20000 hi p; hi=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$hi" -gt $((lo + 1000)) ] || hi=60000
    while :; do p=$(( lo + (RANDOM * 32768 + RANDOM) % (hi - lo) )); port_free "$p" && { echo "$p"; break; }; done
  fi
}

write_config() {
  mkdir -p "$data"/{config,spool,ssl,log}
  mkdir -p "$data"/config/{db,proc,lock,sieve,log,ptclient}
  # UNIX socket paths are limited to 107 bytes: keep the socket dir short (symlink to /tmp when DATA_DIR is long)
  local sock=$data/config/socket
  if [ ${#sock} -gt 80 ]; then
    local short; short=/tmp/cyrus-tb-$(printf %s "$data" | md5sum | cut -c1-10)
    mkdir -p "$short"; chown cyrus:mail "$short"
    [ -L "$sock" ] || { rm -rf "$sock"; ln -s "$short" "$sock"; }
    sock=$short
  else
    mkdir -p "$sock"
  fi
  local imap imaps lmtp
  if [ -s "$portsfile" ] && [ "${1:-}" != --new-ports ]; then  # reuse the ports of an earlier start
    # shellcheck disable=SC1090
    . "$portsfile"; imap=$IMAP_PORT; imaps=$IMAPS_PORT; lmtp=$LMTP_PORT
  fi
  # Cyrus' master does not fail when a port is taken (it just logs and retries), and a client would then
  # talk to whatever owns the port: make sure every port is free now, re-picking the ones that are not.
  imap=$(pick_port "${CYRUS_IMAP_PORT:-}" "${imap:-11143}")
  imaps=$(pick_port "${CYRUS_IMAPS_PORT:-}" "${imaps:-11993}")
  lmtp=$(pick_port "${CYRUS_LMTP_PORT:-}" "${lmtp:-11024}")
  local p
  for p in "${CYRUS_IMAP_PORT:-}" "${CYRUS_IMAPS_PORT:-}" "${CYRUS_LMTP_PORT:-}"; do
    [ -z "$p" ] || port_free "$p" || die "port $p (from CYRUS_*_PORT) is already in use"
  done
  if [ ! -s "$data/ssl/cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
      -keyout "$data/ssl/key.pem" -out "$data/ssl/cert.pem" >/dev/null 2>&1
  fi
  local v6=
  grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null && v6=1
  cat >"$data/imapd.conf" <<EOF
# Generated by cyrus.sh
configdirectory: $data/config
proc_path: $data/config/proc
mboxname_lockpath: $data/config/lock
defaultpartition: default
partition-default: $data/spool
sievedir: $data/config/sieve
servername: localhost
admins: cyrusadmin
altnamespace: yes
unixhierarchysep: yes
virtdomains: userid
defaultdomain: example.test
lmtp_downcase_rcpt: yes
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $data/config/sasldb2
sasl_mech_list: PLAIN LOGIN
autocreate_quota: 0
autocreate_post: yes
autocreate_inbox_folders: Drafts | Sent | Trash | Junk | Archive
autocreate_subscribe_folders: Drafts | Sent | Trash | Junk | Archive
xlist-drafts: Drafts
xlist-sent: Sent
xlist-trash: Trash
xlist-junk: Junk
xlist-archive: Archive
imapidlepoll: 1
tls_server_cert: $data/ssl/cert.pem
tls_server_key: $data/ssl/key.pem
lmtpsocket: $sock/lmtp
idlesocket: $sock/idle
notifysocket: $sock/notify
syslog_prefix: cyrus-$(printf %s "$data" | md5sum | cut -c1-8)
umask: 077
# no 3 s pause after a failed login (slows negative tests)
failedloginpause: 0
EOF
  cat >"$data/cyrus.conf" <<EOF
# Generated by cyrus.sh
START {
  recover cmd="ctl_cyrusdb -C $data/imapd.conf -r"
}
SERVICES {
  imap     cmd="$IMAPD_DIR/imapd -C $data/imapd.conf" listen="127.0.0.1:$imap" prefork=0
  imaps    cmd="$IMAPD_DIR/imapd -s -C $data/imapd.conf" listen="127.0.0.1:$imaps" prefork=0
  lmtpunix cmd="lmtpd -C $data/imapd.conf" listen="$sock/lmtp" prefork=0
  lmtp     cmd="lmtpd -a -C $data/imapd.conf" listen="127.0.0.1:$lmtp" prefork=0
$( [ -n "$v6" ] && echo "  imap6    cmd=\"$IMAPD_DIR/imapd -C $data/imapd.conf\" listen=\"[::1]:$imap\" prefork=0"
   [ -n "$v6" ] && echo "  imaps6   cmd=\"$IMAPD_DIR/imapd -s -C $data/imapd.conf\" listen=\"[::1]:$imaps\" prefork=0" )
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -C $data/imapd.conf -c" period=30
}
DAEMON {
  idled cmd="$IMAPD_DIR/idled -C $data/imapd.conf"
}
EOF
  cat >"$portsfile" <<EOF
IMAP_HOST=127.0.0.1
IMAP_PORT=$imap
IMAPS_PORT=$imaps
LMTP_PORT=$lmtp
LMTP_SOCKET=$sock/lmtp
CA_CERT=$data/ssl/cert.pem
CYRUS_CONF=$data/imapd.conf
CYRUS_LOG=$data/log/syslog.log
CYRUS_MASTER_LOG=$data/log/master.log
EOF
  if [ ! -e "$data/config/sasldb2" ]; then
    echo alice-pass | saslpasswd2 -f "$data/config/sasldb2" -p -c -u localhost alice
    echo bob-pass | saslpasswd2 -f "$data/config/sasldb2" -p -c -u localhost bob
    echo admin-pass | saslpasswd2 -f "$data/config/sasldb2" -p -c -u localhost cyrusadmin
  fi
  chown -R cyrus:mail "$data/config" "$data/spool" "$data/ssl" "$data/log"
  chmod 0755 "$data"
  chmod 0640 "$data/config/sasldb2"
}

wait_imap() {  # wait until the plain IMAP port answers with a greeting
  local port=$1 i
  for i in $(seq 1 200); do
    # subshell: a bare `exec 3<>... 2>/dev/null` would redirect this script's stderr for good
    if ( exec 3<>"/dev/tcp/127.0.0.1/$port" && IFS= read -r -t 2 line <&3 && [[ $line == '* OK'* ]] ) 2>/dev/null
    then return 0; fi
    sleep 0.05
  done
  return 1
}

start_syslog() {
  [ "${CYRUS_SYSLOG:-1}" = 1 ] || return 0
  # Binds /dev/log unless a live syslog socket is there already; a stale one (its collector was killed) is
  # replaced. Records "PID INODE", so stop removes /dev/log only while it is still the socket bound here.
  # (stdout/stderr to /dev/null: a daemon holding them open would hang callers that capture our output)
  # Debian's own python3 first: a pyenv shim on PATH costs ~0.3 s per start.
  local py=${CYRUS_SYSLOG_PYTHON:-python3}
  [ -z "${CYRUS_SYSLOG_PYTHON:-}" ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  "$py" - "$data/log/syslog.log" "$data/syslog.pid" >/dev/null 2>&1 <<'PY'
import errno, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.bind("/dev/log")
except OSError as e:
    if e.errno != errno.EADDRINUSE:
        raise
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect("/dev/log")
        sys.exit(0)  # a live collector or syslog daemon: Cyrus logs there
    except ConnectionRefusedError:
        os.unlink("/dev/log")
        s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
inode = os.stat("/dev/log").st_ino
pid = os.fork()
if pid:
    open(sys.argv[2], "w").write("%d %d\n" % (pid, inode))
    os._exit(0)
os.setsid()
f = open(sys.argv[1], "ab", buffering=0)
while True:
    f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
PY
}

stop_syslog() {
  [ -s "$data/syslog.pid" ] || return 0
  local pid inode i
  read -r pid inode <"$data/syslog.pid"
  if alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do alive "$pid" || break; sleep 0.02; done
  fi
  [ -n "$inode" ] && [ "$(stat -c %i /dev/log 2>/dev/null)" = "$inode" ] && rm -f /dev/log
  rm -f "$data/syslog.pid"
}

tcp_listeners() {  # tcp_listeners PID: "4:PORT" / "6:PORT" for each TCP socket that PID listens on
  local fd link inodes=" " f v sl local rem st inode rest
  for fd in /proc/"$1"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    case $link in socket:\[*\]) link=${link#socket:[}; inodes+="${link%]} " ;; esac
  done
  for v in 4 6; do
    f=/proc/net/tcp; [ $v = 6 ] && f=/proc/net/tcp6
    [ -r "$f" ] || continue
    while read -r sl local rem st _ _ _ _ _ inode rest; do
      [ "$st" = 0A ] || continue
      case $inodes in *" $inode "*) echo "$v:$((16#${local##*:}))" ;; esac
    done <"$f"
  done
}

start_failed() {  # start_failed MESSAGE: show the logs, leave nothing running (collector included), exit 1
  cat "$data/log/master.log" >&2 2>/dev/null || true
  tail -n 20 "$data/log/syslog.log" >&2 2>/dev/null || true
  do_stop
  die "$1"
}

do_start() {
  check_traversable
  ensure_packages
  if master_pid >/dev/null; then cat "$portsfile"; return 0; fi
  local attempt fixed="${CYRUS_IMAP_PORT:-}${CYRUS_IMAPS_PORT:-}${CYRUS_LMTP_PORT:-}" pid held p missing
  for attempt in 1 2 3 4; do
    if [ "$attempt" = 1 ]; then write_config; else write_config --new-ports; fi
    start_syslog
    # shellcheck disable=SC1090
    . "$portsfile"
    /usr/lib/cyrus/bin/master -C "$data/imapd.conf" -M "$data/cyrus.conf" -p "$data/master.pid" \
      -d -L "$data/log/master.log" >/dev/null 2>&1 </dev/null || start_failed "master failed"
    wait_imap "$IMAP_PORT" || start_failed "no IMAP greeting on $IMAP_PORT"
    # The master only logs a port it cannot bind (and retries later), while a client reaches whatever holds the
    # port: make sure the master itself listens on all three ports (a port can be bound without listening,
    # which the connect probe above cannot see).
    pid=$(master_pid) || start_failed "master exited"
    held=" $(tcp_listeners "$pid" | tr '\n' ' ') "
    missing=
    for p in 4:"$IMAP_PORT" 4:"$IMAPS_PORT" 4:"$LMTP_PORT"; do
      case $held in *" $p "*) ;; *) missing+=" ${p#4:}" ;; esac
    done
    if grep -q '^  imap6 ' "$data/cyrus.conf"; then  # the same ports on ::1
      for p in 6:"$IMAP_PORT" 6:"$IMAPS_PORT"; do
        case $held in *" $p "*) ;; *) missing+=" ${p#6:} (::1)" ;; esac
      done
    fi
    [ -z "$missing" ] && { cat "$portsfile"; return 0; }
    do_stop
    [ -z "$fixed" ] && [ "$attempt" -lt 4 ] || die "port(s)$missing are held by another process; Cyrus could not listen there"
    avoid_defaults=1
  done
}

do_stop() {
  local pid i
  if pid=$(master_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  stop_syslog
  if [ -L "$data/config/socket" ]; then
    local t; t=$(readlink -f "$data/config/socket")
    case $t in /tmp/cyrus-tb-*) rm -rf "$t" ;; esac
  fi
  return 0
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  status) master_pid >/dev/null && cat "$portsfile" ;;
  adduser|deluser)
    [ -e "$data/config/sasldb2" ] || { ensure_packages; write_config; }
    u=${1:?user}
    # The default domain (example.test) is stripped before the SASL lookup, which then uses realm = servername.
    realm=localhost; case $u in *@*) [ "${u#*@}" = example.test ] || realm=${u#*@} ;; esac
    if [ "$cmd" = adduser ]; then
      p=${2:?pass}
      case $p in *$'\n'*) die "a password cannot contain a newline" ;; esac
      printf '%s\n' "$p" | saslpasswd2 -f "$data/config/sasldb2" -p -c -u "$realm" "${u%@*}"
    else
      saslpasswd2 -f "$data/config/sasldb2" -d -u "$realm" "${u%@*}"
    fi
    chown cyrus:mail "$data/config/sasldb2" ;;
  *) die "unknown command $cmd" ;;
esac
