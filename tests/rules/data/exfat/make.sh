#!/bin/sh
# Writes an exFAT volume with the real tools and fills it through the kernel's FUSE driver:
# mkfs.exfat (exfatprogs 1.2.0) and mount.exfat-fuse (exfat-fuse 1.3.0) on Debian 12, as root.
# Usage: make.sh IMAGE (tests/rules/test_extract_exfat.py runs it live; usb.img.xz is its output,
# kept so the reader is tested where nothing can be mounted).
set -eu
img=$1
mnt=$(mktemp -d)
truncate -s 8M "$img"
mkfs.exfat -c 4K -L USB "$img" >/dev/null
loop=$(losetup -f --show "$img")
trap 'umount "$mnt" 2>/dev/null || true; losetup -d "$loop" 2>/dev/null || true; rmdir "$mnt"' EXIT
mount.exfat-fuse "$loop" "$mnt"
mkdir -p "$mnt/Finance/2026" "$mnt/项目"
printf 'SSN 078-05-1120\n' > "$mnt/Finance/2026/payroll.txt"
python3 -c "print('card 4111 1111 1111 1111\n' * 20000, end='')" > "$mnt/cards.txt"
printf 'name,iban\nAnna,DE89370400440532013000\n' > "$mnt/Übersicht für das Jahr 2026 mit einem sehr langen Namen.csv"
printf '机密 身份证 11010519491231002X\n' > "$mnt/项目/名单.txt"
# Six fillers, two deleted, then a file bigger than one gap: it lands in pieces on a FAT chain.
for i in 1 2 3 4 5 6; do head -c 40000 /dev/zero | tr '\0' "$i" > "$mnt/filler$i"; done
rm "$mnt/filler2" "$mnt/filler4"
python3 -c "print('IBAN DE89370400440532013000\n' * 4000, end='')" > "$mnt/fragmented.txt"
printf 'deleted secret 078-05-1120\n' > "$mnt/deleted.txt"
rm "$mnt/deleted.txt"
: > "$mnt/empty.txt"
sync
