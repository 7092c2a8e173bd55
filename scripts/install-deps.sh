#!/bin/sh
# Install the Debian 12 packages vigil needs to build, test and run its demo,
# asking dpkg first and apt-get installing only what is missing.
#   scripts/install-deps.sh          build + test + demo packages
#   scripts/install-deps.sh --check  list what is missing, install nothing (exit 1 if any)
set -eu

PKGS="gcc make pkg-config libc6-dev libwebsockets-dev libssl-dev libcap-dev libsqlite3-dev libncurses-dev libcjson-dev \
check tmux curl jq sqlite3 procps iproute2 openssl prometheus-alertmanager"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing packages:$missing"
	exit 1
fi
echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: not root and no sudo; run as root: apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; an old list may name files that are gone.
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
