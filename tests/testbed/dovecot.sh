#!/usr/bin/env bash
# dovecot.sh - a throw-away Dovecot IMAP server on loopback for integration tests.
# (From the project's shared testbed, adapted for tests/fixtures/: see ATTRIBUTION.md.)
#
#   dovecot.sh start   DATA_DIR [--smtp]   start (or find running) instance, print ports as KEY=VALUE lines
#   dovecot.sh stop    DATA_DIR            stop it (no-op when not running)
#   dovecot.sh status  DATA_DIR            exit 0 + print ports when running, exit 1 otherwise
#   dovecot.sh env     DATA_DIR            print the KEY=VALUE lines (no start)
#   dovecot.sh adduser DATA_DIR USER PASS [TOKEN]   add/replace a user (works while running)
#   dovecot.sh deluser DATA_DIR USER       remove a user (its Maildir stays)
#
# Everything lives in DATA_DIR (config, users.d/ + tokens.d/, TLS cert, Maildirs, logs); nothing is read from
# or written to /etc/dovecot or /var/lib/dovecot, so several instances can run side by side.
# Only loopback addresses are bound. Must run as root (Dovecot's master needs it).
#
# Environment (all optional):
#   IMAP_PORT IMAPS_PORT LMTP_PORT SMTP_PORT SMTPS_PORT  fixed ports; default: 10143/10993/10024/10025/10465
#                                                        when free, otherwise a free port is picked. Ports
#                                                        chosen on first start are reused by later starts.
#   LISTEN      addresses to bind (default "127.0.0.1, ::1", or "127.0.0.1" when ::1 is absent)
#   WITH_SMTP=1 same as --smtp: also start smtp-sink.py delivering into this Dovecot via LMTP
#   DOVECOT_DEBUG=1  turn on auth_debug / mail_debug in the log
#   AVOID_DEFAULT_PORTS=1  pick random free ports even when the default ones are free (test sessions)
#   SMTP_SINK_PYTHON  interpreter for smtp-sink.py (default python3; a venv's python that has aiosmtpd)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:-}
data=${2:-}
[ -n "$cmd" ] && [ -n "$data" ] || { sed -n '2,25p' "${BASH_SOURCE[0]}" >&2; exit 2; }
shift 2
data=$(realpath -m -- "$data")
conf=$data/dovecot.conf
portsfile=$data/ports.env
with_smtp=${WITH_SMTP:-0}
for a in "$@"; do [ "$a" = --smtp ] && with_smtp=1; done
env_imap=${IMAP_PORT:-} env_imaps=${IMAPS_PORT:-} env_lmtp=${LMTP_PORT:-}
env_smtp=${SMTP_PORT:-} env_smtps=${SMTPS_PORT:-}

# shellcheck source=common.sh
. "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/common.sh"
[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------- packages
ensure_packages() {
  local need=()
  [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
  [ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
  command -v openssl >/dev/null || need+=(openssl)
  command -v python3 >/dev/null || need+=(python3)
  [ ${#need[@]} -eq 0 ] && return 0
  # Keep the package's own init script from starting a system-wide Dovecot on *:143/*:993.
  local guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${need[@]}"; } >/tmp/dovecot-sh-apt.log 2>&1 || rc=$?
  [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { cat /tmp/dovecot-sh-apt.log >&2; die "apt-get install ${need[*]} failed"; }
  # In case an init script started the packaged instance anyway, stop it (it listens on all interfaces).
  if [ -s /run/dovecot/master.pid ] && alive "$(cat /run/dovecot/master.pid)"; then
    doveadm stop >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------- helpers
port_free() {  # port_free PORT -> 0 when nothing listens on 127.0.0.1:PORT
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
# A random free port below the kernel's ephemeral range (so no outgoing connection holds it); no python
# here: its start-up costs ~0.1 s a call.
free_port() {
  local lo hi p
  lo=20000; hi=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$hi" -gt $((lo + 1000)) ] || hi=60000
  while :; do p=$(( lo + (RANDOM * 32768 + RANDOM) % (hi - lo) )); port_free "$p" && { echo "$p"; return; }; done
}
avoid_defaults=${AVOID_DEFAULT_PORTS:-0}
pick_port() {  # pick_port ENVVALUE DEFAULT
  if [ -n "$1" ]; then echo "$1"
  elif [ "$avoid_defaults" = 0 ] && port_free "$2"; then echo "$2"
  else free_port; fi
}
alive() {  # alive PID: running and not a zombie (PID 1 in containers may reap exited daemons late); no fork
  local st
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
master_pid() {
  local f=$data/run/master.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  alive "$pid" && echo "$pid"
}
running() { master_pid >/dev/null; }
print_env() { cat "$portsfile"; }

# A UNIX socket path may be at most 107 bytes; Dovecot's longest is base_dir + "/login/imap-urlauth-login"-ish.
# Keep base_dir short: DATA/run when short enough, else a symlink to /tmp/dovecot-tb-<hash>.
setup_base_dir() {
  local want=$data/run
  if [ ${#want} -le 60 ]; then
    [ -L "$want" ] && rm -f "$want"
    mkdir -p "$want"
  else
    local short
    short=/tmp/dovecot-tb-$(printf %s "$data" | md5sum | cut -c1-10)
    mkdir -p "$short"
    [ -L "$want" ] || { rm -rf "$want"; ln -s "$short" "$want"; }
  fi
  chmod 0755 "$(readlink -f "$want")"
  base_dir=$(readlink -f "$want")
}

write_config() {
  mkdir -p "$data"/{log,state,ssl,mail}
  chmod 0755 "$data" "$data/log" "$data/state" "$data/ssl"
  chown mail:mail "$data/mail"; chmod 0770 "$data/mail"
  setup_base_dir

  if [ ! -s "$data/ssl/cert.pem" ] || [ ! -s "$data/ssl/key.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
      -keyout "$data/ssl/key.pem" -out "$data/ssl/cert.pem" >/dev/null 2>&1
    chmod 0600 "$data/ssl/key.pem"; chmod 0644 "$data/ssl/cert.pem"
  fi
  # ffdhe/RFC DH params shipped by Debian's dovecot-core; fall back to generating (fast with -dsaparam).
  if [ ! -s "$data/ssl/dh.pem" ]; then
    if [ -s /usr/share/dovecot/dh.pem ]; then cp /usr/share/dovecot/dh.pem "$data/ssl/dh.pem"
    else openssl dhparam -dsaparam -out "$data/ssl/dh.pem" 2048 >/dev/null 2>&1; fi
  fi
  # One passwd-file per user, users.d/<md5 of name> (format user:{SCHEME}password:uid:gid:gecos:home:shell:extra,
  # uid/gid/home come from default_fields), and the same for bearer tokens in tokens.d/. Dovecot stats a
  # passwd-file at most once per second, so a user appended to one shared file can stay invisible for up
  # to a second; a new per-user file is read at first use, so a new user can log in at once.
  mkdir -p "$data/users.d" "$data/tokens.d"
  chmod 0755 "$data/users.d" "$data/tokens.d"
  [ -e "$data/users.d/$(user_key alice@example.test)" ] || do_adduser alice@example.test alice-pass alice-token
  [ -e "$data/users.d/$(user_key bob@example.test)" ] || do_adduser bob@example.test bob-pass bob-token

  local imap_port imaps_port lmtp_port smtp_port smtps_port
  if [ -s "$portsfile" ]; then  # reuse the ports of an earlier start unless overridden
    # shellcheck disable=SC1090
    . "$portsfile"
    imap_port=${env_imap:-$IMAP_PORT}; imaps_port=${env_imaps:-$IMAPS_PORT}; lmtp_port=${env_lmtp:-$LMTP_PORT}
    smtp_port=${env_smtp:-$SMTP_PORT}; smtps_port=${env_smtps:-$SMTPS_PORT}
  else
    imap_port=$(pick_port "$env_imap" 10143)
    imaps_port=$(pick_port "$env_imaps" 10993)
    lmtp_port=$(pick_port "$env_lmtp" 10024)
    smtp_port=$(pick_port "$env_smtp" 10025)
    smtps_port=$(pick_port "$env_smtps" 10465)
  fi
  local listen=${LISTEN:-}
  if [ -z "$listen" ]; then
    if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then listen="127.0.0.1, ::1"; else listen=127.0.0.1; fi
  fi
  local debug=no
  [ "${DOVECOT_DEBUG:-0}" = 1 ] && debug=yes
  local inst
  inst=testbed-$(printf %s "$data" | md5sum | cut -c1-8)

  cat >"$portsfile.tmp" <<EOF
IMAP_HOST=127.0.0.1
IMAP_PORT=$imap_port
IMAPS_PORT=$imaps_port
LMTP_PORT=$lmtp_port
LMTP_SOCKET=$base_dir/lmtp
SMTP_PORT=$smtp_port
SMTPS_PORT=$smtps_port
CA_CERT=$data/ssl/cert.pem
DOVECOT_CONF=$conf
DOVECOT_LOG=$data/log/dovecot.log
MAIL_DIR=$data/mail
EOF
  mv "$portsfile.tmp" "$portsfile"

  cat >"$conf.tmp" <<EOF
# Generated by dovecot.sh - self-contained Dovecot 2.3 test instance. Start: dovecot -c $conf
instance_name = $inst
base_dir = $base_dir
state_dir = $data/state
protocols = imap lmtp
listen = $listen
shutdown_clients = yes
log_path = $data/log/dovecot.log
auth_verbose = yes
auth_debug = $debug
mail_debug = $debug
login_greeting = Dovecot testbed ready.

ssl = yes
ssl_cert = <$data/ssl/cert.pem
ssl_key = <$data/ssl/key.pem
ssl_dh = <$data/ssl/dh.pem

# Plaintext auth over loopback without TLS (Dovecot 2.4 calls this auth_allow_cleartext = yes).
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_cache_size = 0
# Fail bad logins at once (default 2 secs slows down negative tests).
auth_failure_delay = 0
# Loopback clients are "trusted": no anvil auth penalty (2..15 s delays after failed logins from one IP).
login_trusted_networks = 127.0.0.0/8 ::1/128

# All users' mail is owned by the Debian base user "mail" (uid/gid 8); uid 0 is never allowed.
first_valid_uid = 8
first_valid_gid = 8

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $data/users.d/%Mu
  mechanisms = plain login
}
# Static bearer tokens: XOAUTH2/OAUTHBEARER in Dovecot 2.3 verify the token like a password.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $data/tokens.d/%Mu
  mechanisms = xoauth2 oauthbearer
}
# Reached only when the passdbs above failed: ends the attempt with "nodelay", so a wrong password or
# token is refused at once instead of after the auth process's 0.5 s failure batching (the client still
# sees "NO [AUTHENTICATIONFAILED] Authentication failed.").
passdb {
  driver = static
  args = nodelay=yes
  deny = yes
}
userdb {
  driver = passwd-file
  args = username_format=%u $data/users.d/%Mu
  default_fields = uid=mail gid=mail home=$data/mail/%u
}

mail_location = maildir:~/Maildir
mail_fsync = never
mail_plugins = \$mail_plugins quota
mailbox_list_index = yes
mail_attribute_dict = file:%h/dovecot-attributes
# IDLE: inotify gives instant pushes (~0.5 s batching delay), but only for fs.inotify.max_user_instances
# (default 128) imap processes per uid; beyond that Dovecot falls back to polling at this interval (default 30 s).
mailbox_idle_check_interval = 2 secs

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}

plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=1G
}

protocol imap {
  mail_plugins = \$mail_plugins imap_quota imap_zlib
  imap_metadata = yes
  mail_max_userip_connections = 5000
  imap_idle_notify_interval = 2 mins
}

protocol lmtp {
  postmaster_address = postmaster@example.test
  mail_plugins = \$mail_plugins
}
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no

# ---- capacity: enough for >= 2000 concurrent authenticated IMAP connections
default_client_limit = 10000
default_process_limit = 100
default_vsz_limit = 256 M

service imap-login {
  inet_listener imap {
    port = $imap_port
  }
  inet_listener imaps {
    port = $imaps_port
    ssl = yes
  }
  # "high-performance" login mode: a few long-lived processes, each proxying many (TLS) clients
  service_count = 0
  process_min_avail = 2
  client_limit = 2500
  process_limit = 8
}
service imap {
  # one imap process per logged-in connection
  process_limit = 5000
  client_limit = 1
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
}
service auth {
  client_limit = 10000
}
service anvil {
  client_limit = 10000
}
EOF
  mv "$conf.tmp" "$conf"
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

do_start() {
  check_traversable
  ensure_packages
  if running; then
    [ "$with_smtp" = 1 ] && start_smtp
    print_env
    return 0
  fi
  write_config
  # shellcheck disable=SC1090
  . "$portsfile"
  # Dovecot wants ulimit -n >= default_client_limit (10000) to hold thousands of clients: raise the soft limit.
  local hard; hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && hard=65536
  [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$hard" ] && ulimit -Sn "$hard" 2>/dev/null
  local attempt
  for attempt in 1 2 3 4; do
    # Not $(dovecot ...): the daemonized master keeps stdout open and the substitution would never end.
    dovecot -c "$conf" >"$data/log/startup.out" 2>&1 && break
    # A port that looked free (nothing listening) can still be bound: pick other ones unless they were fixed.
    if [ $attempt -lt 4 ] && grep -q 'Address already in use' "$data/log/startup.out" \
       && [ -z "$env_imap$env_imaps$env_lmtp" ]; then
      avoid_defaults=1; rm -f "$portsfile"; write_config
      # shellcheck disable=SC1090
      . "$portsfile"
      continue
    fi
    cat "$data/log/startup.out" >&2
    tail -n 20 "$data/log/dovecot.log" >&2 2>/dev/null || true
    die "dovecot failed to start"
  done
  if ! wait_imap "$IMAP_PORT"; then
    tail -n 30 "$data/log/dovecot.log" >&2 2>/dev/null || true
    die "dovecot did not answer on 127.0.0.1:$IMAP_PORT"
  fi
  [ "$with_smtp" = 1 ] && start_smtp
  print_env
  return 0
}

start_smtp() {
  local attempt
  for attempt in 1 2 3; do
    # shellcheck disable=SC1090
    . "$portsfile"
    "${SMTP_SINK_PYTHON:-python3}" "$HERE/smtp-sink.py" start --data "$data/smtp" --port "$SMTP_PORT" --tls-port "$SMTPS_PORT" \
      --lmtp "$LMTP_SOCKET" --tls-cert "$data/ssl/cert.pem" --tls-key "$data/ssl/key.pem" \
      --users-dir "$data/users.d" --tokens-dir "$data/tokens.d" \
      >/dev/null 2>"$data/log/smtp-start.err" && return 0
    grep -q 'already in use' "$data/log/smtp-start.err" && [ -z "$env_smtp$env_smtps" ] || break
    sed -i "s/^SMTP_PORT=.*/SMTP_PORT=$(free_port)/; s/^SMTPS_PORT=.*/SMTPS_PORT=$(free_port)/" "$portsfile"
  done
  cat "$data/log/smtp-start.err" >&2
  die "smtp-sink.py failed to start"
}

do_stop() {
  if [ -e "$data/smtp/smtp-sink.pid" ]; then
    "${SMTP_SINK_PYTHON:-python3}" "$HERE/smtp-sink.py" stop --data "$data/smtp" >/dev/null 2>&1 || true
  fi
  local pid
  pid=$(master_pid) || { rm_short_base_dir; return 0; }
  # Same as `doveadm -c "$conf" stop`, but doveadm polls with kill(pid,0) and so also waits until PID 1
  # reaps the zombie master (seconds in some containers); we stop waiting once the master has exited.
  local i k kids
  kids=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    kids="$kids $(pgrep -P "$pid" || true)"
    alive "$pid" || break
    sleep 0.05
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  # imap processes that still have a client outlive the master by ~10 s before they send
  # "* BYE Server shutting down." and exit: end them now (by pid), so that stop means stopped.
  for k in $kids; do alive "$k" && kill -TERM "$k" 2>/dev/null; done
  for i in $(seq 1 40); do
    local left=
    for k in $kids; do alive "$k" && left=1; done
    [ -z "$left" ] && break
    sleep 0.05
  done
  for k in $kids; do alive "$k" && kill -KILL "$k" 2>/dev/null; done
  rm_short_base_dir
  return 0
}

rm_short_base_dir() {  # the /tmp/dovecot-tb-* base_dir used for long DATA_DIR paths
  [ -L "$data/run" ] || return 0
  local t; t=$(readlink -f "$data/run")
  case $t in /tmp/dovecot-tb-*) rm -rf "$t" ;; esac
}

user_key() {  # the file name of a user in users.d/tokens.d: md5 of the name (Dovecot's %Mu)
  printf %s "$1" | md5sum | cut -c1-32
}

write_user_file() {  # write_user_file DIR USER SECRET: atomic replace; a same-second rewrite still looks changed
  local f=$data/$1/$(user_key "$2") old=
  [ -e "$f" ] && old=$(stat -c %Y "$f")
  printf '%s:{PLAIN}%s::::::\n' "$2" "$3" >"$f.tmp"
  chmod 0644 "$f.tmp"
  # Dovecot re-reads a passwd-file only when its mtime (seconds) or size changed
  [ -n "$old" ] && [ "$(stat -c %Y "$f.tmp")" -le "$old" ] && touch -d "@$((old + 1))" "$f.tmp"
  mv "$f.tmp" "$f"
}

do_adduser() {
  local user=${1:?user} pass=${2:?password} token=${3:-}
  [ -d "$data/users.d" ] || write_config
  case $user in *:*|*$'\n'*) die "bad user name: $user" ;; esac
  write_user_file users.d "$user" "$pass"
  [ -n "$token" ] && write_user_file tokens.d "$user" "$token"  # without TOKEN an existing token is kept
  return 0  # a passwd-file is re-read when it changes (at most once a second, see write_config)
}

do_deluser() {
  local user=${1:?user}
  rm -f "$data/users.d/$(user_key "$user")" "$data/tokens.d/$(user_key "$user")"
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  status) running && print_env ;;
  env) [ -s "$portsfile" ] && print_env ;;
  adduser) do_adduser "$@" ;;
  deluser) do_deluser "$@" ;;
  *) die "unknown command $cmd (start|stop|status|env|adduser|deluser)" ;;
esac
