#!/bin/sh
# MedStation.app and a drag-to-Applications DMG from the onedir build, on a macOS runner (needs hdiutil, sips,
# iconutil; PyInstaller cannot cross-build). Run after `python3 packaging/build.py --no-deb`:
#   sh packaging/macos/make_dmg.sh VERSION
# The app is not signed or notarised here; sign with `codesign --deep --options runtime -s IDENTITY` and
# notarise with `xcrun notarytool submit` before distributing.
set -eu
VERSION=${1:?usage: make_dmg.sh VERSION}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIST="$ROOT/dist"
APP="$DIST/MedStation.app"
STAGE="$DIST/dmg-stage"
echo "make_dmg: assembling $APP"
rm -rf "$APP" "$STAGE"
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Resources"
cp -R "$DIST/medstation/" "$APP/Contents/MacOS/"
sed "s/@VERSION@/$VERSION/g" "$ROOT/packaging/macos/Info.plist.in" > "$APP/Contents/Info.plist"
ICONSET="$DIST/medstation.iconset"
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256; do
  sips -z $size $size "$ROOT/packaging/icons/medstation.png" --out "$ICONSET/icon_${size}x${size}.png" >/dev/null
done
iconutil -c icns "$ICONSET" -o "$APP/Contents/Resources/medstation.icns"
echo "make_dmg: checking the app bundle runs"
"$APP/Contents/MacOS/medstation" --version
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
OUT="$DIST/MedStation-$VERSION-macos-$(uname -m).dmg"
echo "make_dmg: writing $OUT"
hdiutil create -volname "MedStation $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$OUT"
rm -rf "$STAGE" "$ICONSET"
echo "make_dmg: done"
