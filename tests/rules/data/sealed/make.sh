#!/bin/sh
# Writes the encrypted fixtures of tests/rules/test_extract_sealed.py with the real tools
# (GnuPG 2.2.40, OpenSSL 3.0.19, age 1.1.1 on Debian 12). Run from this folder; every file holds
# the same secret text, secret.txt, encrypted. Keys and passphrases are throwaway.
set -eu
printf 'Customer: Ada Lovelace\nCard: 4111 1111 1111 1111\nResident id: 11010519491231002X\n' > secret.txt
home=$(mktemp -d)
export GNUPGHOME="$home"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Test Recipient <test@example.com>' default default never
gpg --batch --quiet --yes --pinentry-mode loopback --passphrase hunter2 --symmetric -o symmetric.gpg secret.txt
gpg --batch --quiet --yes --pinentry-mode loopback --passphrase hunter2 --symmetric --armor -o symmetric.asc secret.txt
gpg --batch --quiet --yes --trust-model always --encrypt -r test@example.com -o public.gpg secret.txt
gpg --batch --quiet --yes --trust-model always --encrypt --armor -r test@example.com -o public.asc secret.txt
gpg --batch --quiet --yes --sign -o signed.gpg secret.txt            # signed, not encrypted
gpg --batch --quiet --yes --clearsign -o clearsigned.asc secret.txt  # readable text with a signature
gpg --batch --quiet --yes --sign --armor -o signed.asc secret.txt    # armored, not encrypted
rm -rf "$home"
openssl enc -aes-256-cbc -pbkdf2 -salt -pass pass:hunter2 -in secret.txt -out openssl.enc
openssl enc -aes-256-cbc -pbkdf2 -salt -a -pass pass:hunter2 -in secret.txt -out openssl.b64
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=recipient -days 1 -keyout key.pem -out cert.pem 2>/dev/null
printf 'To: bob@example.com\nSubject: figures\n\n' | cat - secret.txt > plain.eml
openssl smime -encrypt -aes256 -in plain.eml -out smime.eml cert.pem
openssl cms -encrypt -aes256 -outform DER -in secret.txt -out cms.p7m cert.pem
openssl cms -encrypt -aes256 -outform PEM -in secret.txt -out cms.pem cert.pem
openssl smime -sign -in plain.eml -out signed.eml -signer cert.pem -inkey key.pem  # signed, readable
rm key.pem cert.pem plain.eml
age-keygen -o age.key 2>/dev/null
age -r "$(age-keygen -y age.key)" -o secret.age secret.txt
age -r "$(age-keygen -y age.key)" --armor -o secret.age.txt secret.txt
rm age.key
# An opaque-signed S/MIME mail: the content inside the signature (smime-type=signed-data)
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=sender -days 1 -keyout key.pem -out cert.pem 2>/dev/null
printf 'Content-Type: text/plain\n\n' | cat - secret.txt > inner.txt
printf 'To: bob@example.com\nSubject: figures\n' > head.txt
openssl smime -sign -nodetach -in inner.txt -signer cert.pem -inkey key.pem | cat head.txt - > opaque.eml
openssl cms -sign -nodetach -binary -outform DER -in secret.txt -signer cert.pem -inkey key.pem -out signed.p7m
rm key.pem cert.pem inner.txt head.txt
