#!/usr/bin/env bash
# Installs StarCraft II 4.10 and the SMAC map pack into $SC2PATH, only once the licence is accepted.
#
#   SC2_EULA=iagreetotheeula [SC2PATH=~/StarCraftII] envs/install_sc2.sh
#
# Blizzard's zips are encrypted; their password is the acceptance of the StarCraft II AI and
# Machine Learning License, which allows research use only and no redistribution: never push an
# image or folder made by this script to a public place.
# Optional: SC2_SHA256 / MAPS_SHA256 (checksums to verify), SC2_URL / MAPS_URL (mirrors),
# DOWNLOAD_RETRIES (default 5).
# Progress goes to stdout. Bad input exits 2, a failed or damaged download exits 1, each with one
# line on stderr naming the fix.
set -euo pipefail

EULA_PASSWORD=iagreetotheeula
SC2PATH="${SC2PATH:-$HOME/StarCraftII}"
SC2_BUILD=Base75689  # 4.10: the version pymarl, HARL and SMACv2 report on
SC2_URL="${SC2_URL:-https://blzdistsc2-a.akamaihd.net/Linux/SC2.4.10.zip}"
MAPS_URL="${MAPS_URL:-https://github.com/oxwhirl/smacv2/releases/download/maps/SMAC_Maps.zip}"

die() {
    echo "install_sc2: error: $2" >&2
    exit "$1"
}

if [ -z "${SC2_EULA:-}" ]; then
    die 2 "StarCraft II needs its AI and ML licence accepted: set SC2_EULA=$EULA_PASSWORD (docker: --build-arg SC2_EULA=$EULA_PASSWORD, or --build-arg SC2=0 for an image without it)"
fi
if [ "$SC2_EULA" != "$EULA_PASSWORD" ]; then
    die 2 "SC2_EULA='$SC2_EULA' is not the licence password: set SC2_EULA=$EULA_PASSWORD to accept the StarCraft II AI and ML licence"
fi
for tool in curl unzip sha256sum; do
    command -v "$tool" >/dev/null || die 2 "'$tool' is missing: install it (apt-get install curl unzip coreutils)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/install_sc2.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fetch URL SHA256 FILE: download and prove the file is a whole zip before anything is unpacked.
fetch() {
    local url=$1 sha=$2 out=$3 rc=0
    echo "install_sc2: downloading $url"
    # --retry-all-errors: CDNs drop long transfers; -C - resumes where the last try stopped.
    curl -fsL --retry "${DOWNLOAD_RETRIES:-5}" --retry-delay 5 --retry-all-errors -C - -o "$out" "$url" || rc=$?
    case $rc in
        0) ;;
        18) die 1 "download of $url was truncated (connection closed early): run again, it resumes" ;;
        *) die 1 "download of $url failed (curl exit $rc): check the network or point the URL variable at a mirror" ;;
    esac
    if [ -n "$sha" ] && ! echo "$sha  $out" | sha256sum --check --status; then
        die 1 "checksum of $url is $(sha256sum "$out" | cut -d' ' -f1), expected $sha: delete the mirror's copy or fix the checksum"
    fi
    # A truncated zip has no central directory; catching it here names the cause.
    unzip -qql "$out" >/dev/null 2>&1 \
        || die 1 "$url is not a complete zip archive (truncated download?): run again"
}

if [ -d "$SC2PATH/Versions/$SC2_BUILD" ]; then
    echo "install_sc2: StarCraft II $SC2_BUILD already in $SC2PATH; only the maps are refreshed"
else
    [ ! -e "$SC2PATH" ] || die 2 "$SC2PATH exists but holds no Versions/$SC2_BUILD: remove it or set SC2PATH to a new folder"
    fetch "$SC2_URL" "${SC2_SHA256:-}" "$work/sc2.zip"
    unzip -Z1 "$work/sc2.zip" > "$work/members"
    probe=$(grep -m1 -v '/$' "$work/members") || die 1 "$SC2_URL holds no files"
    # Check the password on one member first: unzip's exit status over a whole archive is ambiguous.
    unzip -tqq -P "$SC2_EULA" "$work/sc2.zip" "$probe" >/dev/null 2>&1 \
        || die 1 "$SC2_URL does not open with the licence password: it is not a Blizzard Linux package; unset SC2_URL"
    unzip -qq -P "$SC2_EULA" "$work/sc2.zip" -d "$work/game" 2>/dev/null \
        || die 1 "unpacking $SC2_URL failed (damaged archive or disk full): free space and run again"
    rm "$work/sc2.zip"
    [ -d "$work/game/StarCraftII/Versions/$SC2_BUILD" ] \
        || die 1 "$SC2_URL holds no StarCraftII/Versions/$SC2_BUILD (4.10): unset SC2_URL"
    mkdir -p "$(dirname "$SC2PATH")"
    mv "$work/game/StarCraftII" "$SC2PATH"
fi

fetch "$MAPS_URL" "${MAPS_SHA256:-}" "$work/maps.zip"
unzip -qq "$work/maps.zip" -d "$work/maps" 2>/dev/null \
    || die 1 "unpacking $MAPS_URL failed (damaged archive or disk full): free space and run again"
# The SMACv2 pack is flat, the older SMAC pack nests a SMAC_Maps/ folder: take the files either way.
mkdir -p "$SC2PATH/Maps/SMAC_Maps"
find "$work/maps" -name '*.SC2Map' -exec mv -f -t "$SC2PATH/Maps/SMAC_Maps" {} +
[ -f "$SC2PATH/Maps/SMAC_Maps/MMM2.SC2Map" ] \
    || die 1 "$MAPS_URL holds no MMM2.SC2Map: unset MAPS_URL to use the SMACv2 map pack"
echo "install_sc2: StarCraft II $SC2_BUILD and $(find "$SC2PATH/Maps/SMAC_Maps" -name '*.SC2Map' | wc -l) maps in $SC2PATH"
