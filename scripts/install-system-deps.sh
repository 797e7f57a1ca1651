#!/usr/bin/env bash
# Debian/Ubuntu packages the app and its tests need: libsecret (keytar builds against it), a keyring and
# D-Bus for the real-keychain tests, Chromium for the end-to-end tests, Xvfb for a real window,
# python3-onnx + numpy for the tiny-model generator, PostgreSQL 15 for studio mode.
set -euo pipefail
PACKAGES=(build-essential pkg-config libsecret-1-dev gnome-keyring dbus dbus-x11 chromium xvfb python3-onnx python3-numpy postgresql fonts-dejavu-core)
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
if ! command -v apt-get >/dev/null; then echo "Install these packages with your system's package manager: ${missing[*]}" >&2; exit 1; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
