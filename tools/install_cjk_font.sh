#!/usr/bin/env bash
# Install a small font with Chinese glyphs for the notebooks' plots, if none is there.
# Never fails the set-up: without root/sudo or apt it prints what to do instead.
set -u
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "fonts: no CJK font found; install one (e.g. Noto Sans CJK) so Chinese terms render in plots" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "fonts: no CJK font found; run: sudo apt-get install fonts-wqy-microhei" >&2; exit 0; fi
fi
echo "fonts: installing fonts-wqy-microhei (Chinese glyphs for plots)" >&2
$sudo apt-get update -qq >/dev/null 2>&1 || true
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 \
  || echo "fonts: could not install fonts-wqy-microhei; Chinese terms are left out of plot labels" >&2
exit 0
