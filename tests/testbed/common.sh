# Shared by dovecot.sh and cyrus.sh (sourced, never run): stop with a message, and refuse a
# DATA_DIR the mail server's unprivileged processes cannot reach. Expects $data to be set.

die() { echo "${0##*/}: $*" >&2; exit 1; }

# The server's unprivileged processes (users dovecot/dovenull/mail or cyrus) must be able to reach DATA_DIR.
check_traversable() {
  local d
  d=$(dirname -- "$data")
  while [ "$d" != / ]; do
    if [ -d "$d" ] && [ $(( 0$(stat -c %a "$d") & 01 )) -eq 0 ]; then
      die "$d (mode $(stat -c %a "$d")) is not world-searchable, so the mail server's non-root processes cannot reach $data; use e.g. DATA_DIR=\$(mktemp -d) itself (it is chmod 0755 for you); pytest tmp_path sits below /tmp/pytest-of-root, mode 0700"
    fi
    d=$(dirname -- "$d")
  done
}
