#!/usr/bin/env bash
# Install the Debian packages that leakguard's tests and demo need, only when a command is missing.
# Usage: scripts/system-deps.sh test|demo
set -euo pipefail
purpose=${1:-test}

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("${@:2}"); }
want_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || need+=("$2"); }

want Xvfb xvfb
want xcompmgr xcompmgr
want xclip xclip
want xdotool xdotool
want xdpyinfo x11-utils
want xrandr x11-xserver-utils
want notify-send libnotify-bin
want_lib libxcb-cursor.so.0 libxcb-cursor0
want_lib libxkbcommon-x11.so.0 libxkbcommon-x11-0
want_lib libxcb-icccm.so.4 libxcb-icccm4
want_lib libxcb-keysyms.so.1 libxcb-keysyms1
want_lib libxcb-shape.so.0 libxcb-shape0
want_lib libxcb-render-util.so.0 libxcb-render-util0
want_lib libxcb-image.so.0 libxcb-image0
want_lib libEGL.so.1 libegl1
want_lib libGL.so.1 libgl1
want_lib libfontconfig.so.1 libfontconfig1
want_lib libdbus-1.so.3 libdbus-1-3
want_lib libXRes.so.1 libxres1
# Fonts for the console's PDF case reports: Latin/Greek/Cyrillic, and a CJK fallback for names.
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
[ -e /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || need+=(fonts-droid-fallback)
if [ "$purpose" = test ]; then
  want chromium chromium
  [ -e /usr/bin/chromium ] || need+=(chromium)
  want curl curl
  want scrot scrot
  want psql postgresql
  # OCR of images and scanned PDF pages (rules.extract.tesseract): English and Simplified Chinese
  want tesseract tesseract-ocr tesseract-ocr-eng
  want pdftoppm poppler-utils
  compgen -G "/usr/share/tesseract-ocr/*/tessdata/chi_sim.traineddata" >/dev/null || need+=(tesseract-ocr-chi-sim)
  # Fresh encrypted files for rules.extract.sealed's tests
  want gpg gnupg
  want openssl openssl
  want zstd zstd
  # Disc images for rules.extract.disc's tests: ISO 9660/Joliet/Rock Ridge/UDF writers
  want genisoimage genisoimage
  want xorriso xorriso
  want mkudffs udftools
  # Cabinets for rules.extract.cab's tests: a writer and an independent checker
  want gcab gcab
  # lzip and lz4 streams for rules.extract.archive's tests (xz-utils gives `lzma`)
  want lzip lzip
  want lz4 lz4
  want lzma xz-utils
  # cpio and ar archives (and .deb packages) for rules.extract.unix's tests
  want cpio cpio
  want ar binutils
  want dpkg-deb dpkg
  want xxd xxd
  # RAR archives for rules.extract.rar5_lz's and rar29_lz's tests: an independent reader (The Unarchiver)
  want unar unar
  # Outlook .pst files for rules.extract.pst's tests: an independent reader (libpst's readpst)
  want readpst pst-utils
  # mdbtools reads the Access databases the tests write (tests/rules/mdb_pack.py), and is the
  # benchmark's peer
  want mdb-export mdbtools
  # a CUPS scheduler of the print channel's tests' own (agent/channels/printing.py)
  want cupsd cups-daemon
  want lpadmin cups-client
  # Metadata written into images for rules.extract.image_meta's tests: an independent writer
  want exiftool libimage-exiftool-perl
  # Split zips for rules.extract.zip_local's tests: Info-ZIP's and 7-Zip's volumes
  want zip zip
  want 7zz 7zip
  # NTFS volumes, partition tables and virtual disks for rules.extract.volume's tests
  want mkntfs ntfs-3g
  want sfdisk fdisk
  want qemu-img qemu-utils
  want mkfs.fat dosfstools
  want mcopy mtools
  want mkfs.ext4 e2fsprogs
  # exFAT volumes written through the kernel (a loop device and FUSE) for rules.extract.exfat's tests
  want mkfs.exfat exfatprogs
  want mount.exfat-fuse exfat-fuse
  want losetup mount
  want cabextract cabextract
  # .Z files for rules.extract.lzw's tests
  want compress ncompress
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "leakguard: missing Debian packages: ${need[*]}" >&2
  echo "leakguard: not root, so not installing them; tests that need them will skip and say why." >&2
  exit 0
fi
echo "leakguard: installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

# A freshly installed PostgreSQL: make sure a cluster answers on 127.0.0.1:5432.
if [ "$purpose" = test ] && command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
