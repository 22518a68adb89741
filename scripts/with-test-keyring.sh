#!/bin/sh
# Runs a command against a throwaway Secret Service: a private D-Bus session (dbus-run-session)
# and a fresh gnome-keyring, unlocked, with a temporary HOME. Never touches your own keyring.
#   scripts/with-test-keyring.sh npx ava test/keychain.test.ts
#   scripts/with-test-keyring.sh sh -c 'printf %s "$TOKEN" | node dist/helper/git-credential-bitbucket.cjs account add ...'
# The tests start their own keyring (test/support/keyring.ts); this is for trying things by hand.
set -eu
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "$0: $tool is missing: sudo apt-get install -y gnome-keyring dbus libsecret-tools" >&2
    exit 1
  }
done
root=$(mktemp -d "${TMPDIR:-/tmp}/gcb-keyring-XXXXXX")
cleanup() {
  # gnome-keyring-daemon may outlive its bus; stop ours (the one whose HOME is ours), then the files.
  for pid in $(pgrep -f 'gnome-keyring-daemon' || true); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "HOME=$root/home"; then kill "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$root"
}
trap cleanup EXIT INT TERM
mkdir -m 700 "$root/home" "$root/run"
# The command keeps the caller's HOME; only the keyring daemon gets the temporary one.
export GCB_KEYRING_ROOT="$root"
status=0
dbus-run-session -- sh -c '
  printf %s throwaway-test-password |
    HOME="$GCB_KEYRING_ROOT/home" XDG_RUNTIME_DIR="$GCB_KEYRING_ROOT/run" XDG_DATA_HOME="$GCB_KEYRING_ROOT/home/.local/share" \
    gnome-keyring-daemon --unlock --components=secrets >"$GCB_KEYRING_ROOT/keyring.log" 2>&1
  unset GCB_KEYRING_ROOT
  "$@"' sh "$@" || status=$?
exit "$status"
