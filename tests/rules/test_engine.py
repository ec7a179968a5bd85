"""`evaluate`: channels, thresholds, destinations, applications, USB, extraction status, explanations."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text
from rules.engine import ContentEvent, evaluate
from rules.finding import Finding
from rules.policy import default_policy_text, load_policy

POLICY = load_policy("""\
version: 1
zone: medium
default_action: audit
rules:
  - id: secrets
    when: {detectors: [aws_access_key, private_key]}
    action: block
    severity: high
  - id: bulk-cards
    channels: [file_upload, removable_media]
    destinations: {allow: [corp.example.com]}
    when: {detectors: [credit_card], min_confidence: high, min_count: 3}
    action: block_with_override
    severity: high
    message: give a reason
  - id: one-card
    channels: [file_upload]
    when: {detectors: [credit_card]}
    action: warn
    severity: low
  - id: dropbox
    channels: [file_upload]
    destinations: {deny: ["*.dropbox.com", dropbox.com]}
    action: block
    severity: medium
  - id: big-office
    channels: [cloud_sync]
    when: {file_types: [docx, xlsx], min_size: 10MB}
    action: warn
  - id: sealed
    channels: [removable_media]
    when: {extraction: [encrypted]}
    action: quarantine
    severity: critical
  - id: usb
    channels: [removable_media]
    usb: {allow: [{vendor: "0781", serial: GOOD}]}
    action: block
  - id: chat-apps
    channels: [clipboard]
    applications: {deny: [wechat*, slack]}
    when: {detectors: [cn_mobile]}
    action: warn
""", source="test.yaml")


def card(confidence: float = 0.99) -> Finding:
    return Finding("credit_card", 0, 16, confidence, "high" if confidence >= 0.85 else "medium", "4111 ****", "d")


def test_no_rule_gives_the_default_action() -> None:
    verdict = evaluate(ContentEvent("print"), POLICY)
    assert (verdict.action, verdict.rule_id, verdict.matched) == ("audit", None, ())


def test_strictest_rule_wins_and_explains_itself() -> None:
    findings = tuple(scan_text("AKIAQWERTYUIOPASDFGH and card 4111111111111111"))
    verdict = evaluate(ContentEvent("file_upload", findings), POLICY)
    assert verdict.action == "block" and verdict.rule_id == "secrets"
    assert verdict.matched == (("aws_access_key", 1),)
    assert "test.yaml:5" in verdict.explanation and "aws_access_key" in verdict.explanation
    assert set(verdict.rule_ids) >= {"secrets", "one-card"}


def test_count_and_confidence_thresholds() -> None:
    assert evaluate(ContentEvent("file_upload", (card(),) * 2), POLICY).rule_id == "one-card"
    three = evaluate(ContentEvent("file_upload", (card(),) * 3), POLICY)
    assert (three.action, three.override_allowed, three.message) == ("block", True, "give a reason")
    assert three.matched == (("credit_card", 3),)
    low = evaluate(ContentEvent("file_upload", (card(0.7),) * 3), POLICY)
    assert low.rule_id == "one-card"


def test_allowed_destination_is_exempt() -> None:
    event = ContentEvent("file_upload", (card(),) * 5, destination="https://files.corp.example.com/up")
    assert evaluate(event, POLICY).rule_id == "one-card"


def test_deny_list_limits_a_rule_to_those_destinations() -> None:
    assert evaluate(ContentEvent("file_upload", destination="www.dropbox.com"), POLICY).rule_id == "dropbox"
    assert evaluate(ContentEvent("file_upload", destination="dropbox.com"), POLICY).rule_id == "dropbox"
    assert evaluate(ContentEvent("file_upload", destination="notdropbox.com"), POLICY).rule_id is None


def test_file_type_and_size() -> None:
    big = ContentEvent("cloud_sync", file_name="plan.DOCX", size=20_000_000)
    assert evaluate(big, POLICY).rule_id == "big-office"
    assert evaluate(ContentEvent("cloud_sync", file_name="plan.docx", size=1000), POLICY).rule_id is None
    assert evaluate(ContentEvent("cloud_sync", file_type="pdf", size=20_000_000), POLICY).rule_id is None


def test_encrypted_content_and_usb_allow_list() -> None:
    sealed = ContentEvent("removable_media", extraction_status="encrypted", usb_vendor="0781", usb_serial="GOOD")
    assert evaluate(sealed, POLICY).action == "quarantine"
    good = ContentEvent("removable_media", usb_vendor="0x0781", usb_serial="GOOD")
    assert evaluate(good, POLICY).rule_id is None
    other = ContentEvent("removable_media", usb_vendor="0781", usb_serial="OTHER")
    assert evaluate(other, POLICY).rule_id == "usb"


def test_application_deny_list() -> None:
    phone = tuple(scan_text("手机 13812345678"))
    assert evaluate(ContentEvent("clipboard", phone, application="WeChat.exe"), POLICY).rule_id == "chat-apps"
    assert evaluate(ContentEvent("clipboard", phone, application="notepad"), POLICY).rule_id is None


def test_fingerprint_and_edm_findings_match_by_prefix() -> None:
    policy = load_policy(default_policy_text("medium"))
    doc = Finding("fingerprint:abc123", 0, 10, 0.9, "high", "plan.docx (40% of it)", "x")
    verdict = evaluate(ContentEvent("file_upload", (doc,)), policy)
    assert verdict.rule_id == "confidential-documents" and verdict.matched == (("fingerprint:abc123", 1),)


@pytest.mark.parametrize("zone", ["low", "medium", "high"])
def test_default_packs_block_a_private_key_upload(zone: str) -> None:
    policy = load_policy(default_policy_text(zone))
    findings = tuple(scan_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"))
    verdict = evaluate(ContentEvent("file_upload", findings, destination="pastebin.com"), policy)
    assert verdict.action == "block"
    assert verdict.override_allowed is (zone == "low")


def test_high_zone_blocks_unapproved_usb_and_encrypted_uploads() -> None:
    policy = load_policy(default_policy_text("high"))
    assert evaluate(ContentEvent("removable_media", usb_vendor="1234", usb_serial="X"), policy).action == "block"
    sealed = evaluate(ContentEvent("file_upload", extraction_status="encrypted"), policy)
    assert (sealed.action, sealed.rule_id) == ("block", "uninspectable")


def test_high_zone_blocks_images_leaving_by_file_channels_whatever_ocr_read() -> None:
    """OCR reads screenshots, not every photo of a page: in the high zone an image file does not
    leave even when its text holds nothing, as when images were unscannable."""
    policy = load_policy(default_policy_text("high"))
    shot = evaluate(ContentEvent("file_upload", file_name="whiteboard.JPG", destination="mail.example.org"), policy)
    assert (shot.action, shot.rule_id) == ("block", "images")
    assert evaluate(ContentEvent("file_upload", file_name="notes.txt", destination="mail.example.org"),
                    policy).action != "block"
    assert evaluate(ContentEvent("clipboard", file_type="png"), policy).rule_id != "images"  # judged by content


def test_scanner_for_policy_compiles_only_what_rules_name() -> None:
    from rules.detectors import scanner_for_policy

    policy = load_policy(default_policy_text("medium"))
    scanner = scanner_for_policy(policy)
    ids = {d.id for d in scanner.detectors}
    assert "aws_access_key" in ids and "ipv6" not in ids
    assert [k.id for k in scanner.keywords.lists] == ["confidential_marking"]
    found = {f.detector for f in scanner.scan("INTERNAL ONLY: card 4111111111111111, host 2001:db8::1")}
    assert found == {"confidential_marking", "credit_card"}
