#!/bin/sh
# Smoke test of the Debian package without installing it system-wide: unpack it into a temporary root
# (dpkg-deb -x), check its file list stays under /opt/medstation, /usr/bin and /usr/share, validate the desktop
# entry, run the unpacked `medstation --version` and `medstation self-test` offscreen, open the sample study on a
# virtual X server (Xvfb) and screenshot it, then remove the root and check nothing is left.
#   sh packaging/debian/smoke_test.sh dist/medstation_VERSION_amd64.deb [OUT_DIR]
# Needs dpkg-deb, Xvfb, xdotool and ImageMagick's import; OUT_DIR (default dist/smoke) gets the self-test output,
# the screenshot and its log.
set -eu
DEB=${1:?usage: smoke_test.sh PACKAGE.deb [OUT_DIR]}
OUT=${2:-dist/smoke}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=$(mktemp -d /tmp/medstation-smoke-XXXXXX)
HOME_DIR=$(mktemp -d /tmp/medstation-smoke-home-XXXXXX)
echo "smoke: unpacking $DEB into $ROOT"
dpkg-deb -x "$DEB" "$ROOT"
dpkg-deb -f "$DEB" Package Version Depends
outside=$(dpkg-deb -c "$DEB" | awk '{print $6}' | grep -v -E '^\./((opt|usr)/)?$|^\./(opt/medstation|usr/bin|usr/share)(/|$)' || true)
if [ -n "$outside" ]; then echo "smoke: FAIL files outside /opt/medstation, /usr/bin, /usr/share:"; echo "$outside"; exit 1; fi
echo "smoke: file list stays under /opt/medstation, /usr/bin, /usr/share ($(dpkg-deb -c "$DEB" | wc -l) entries)"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$ROOT/usr/share/applications/medstation.desktop" && echo "smoke: desktop entry valid"
fi
APP="$ROOT/usr/bin/medstation"
export MEDSTATION_HOME="$HOME_DIR"
export XDG_CONFIG_HOME="$HOME_DIR/config"  # a first start: no window layout saved by an earlier run
"$APP" --version
echo "smoke: self-test (offscreen)"
QT_QPA_PLATFORM=offscreen "$APP" self-test | tee "$OUT/self-test.txt"
SAMPLE="$ROOT/opt/medstation/_internal/medstation/data/resources/sample/images"
DISPLAY_NUMBER=$(( 150 + $$ % 50 ))
echo "smoke: opening the sample study on Xvfb :$DISPLAY_NUMBER"
Xvfb ":$DISPLAY_NUMBER" -screen 0 1600x1000x24 >/dev/null 2>&1 &
XVFB=$!
sleep 1
DISPLAY=":$DISPLAY_NUMBER" QT_QPA_PLATFORM=xcb "$APP" "$SAMPLE" > "$OUT/gui.log" 2>&1 &
GUI=$!
waited=0
until DISPLAY=":$DISPLAY_NUMBER" xdotool search --onlyvisible --name '^MedStation' >/dev/null 2>&1; do
  sleep 1; waited=$((waited + 1))
  if [ $waited -ge 60 ] || ! kill -0 $GUI 2>/dev/null; then
    echo "smoke: FAIL no MedStation window"; cat "$OUT/gui.log"; kill $GUI $XVFB 2>/dev/null || true; exit 1
  fi
done
sleep 8
DISPLAY=":$DISPLAY_NUMBER" import -window root "$OUT/sample-study.png"
echo "smoke: screenshot $OUT/sample-study.png (window after ${waited} s)"
kill $GUI; wait $GUI 2>/dev/null || true
kill $XVFB; wait $XVFB 2>/dev/null || true
rm -rf "$ROOT" "$HOME_DIR"
[ ! -e "$ROOT" ] && echo "smoke: removed $ROOT; nothing of the package is left"
echo "smoke: PASS"
