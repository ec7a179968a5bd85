"""Credentials and secrets, after the formats that gitleaks and detect-secrets know."""

from __future__ import annotations

from rules.checksums import base62_crc32_valid, jwt_header_valid
from rules.detector import Detector

_SECRET_WORDS = ("key", "token", "secret", "password", "credential", "api", "auth", "密钥", "令牌")


def _github(value: str) -> bool:
    """New-format GitHub tokens end in a CRC32 of the rest; fine-grained PATs have no check."""
    if value.startswith("github_pat_"):
        return True
    body = value[4:]
    return base62_crc32_valid(value[:4] + body[:-6], body[-6:]) or base62_crc32_valid(body[:-6], body[-6:])


def _not_placeholder(value: str) -> bool:
    tail = value.split("=")[-1].split(":")[-1].strip("'\" ")
    lowered = tail.lower()
    return len(set(tail)) > 4 and not any(w in lowered for w in ("example", "xxxx", "your", "changeme", "***"))


def _password_in_url(value: str) -> bool:
    password = value.rsplit("@", 1)[0].split("://", 1)[-1].split(":", 1)[-1]
    return _not_placeholder(password) and not password.startswith("$")


DETECTORS: tuple[Detector, ...] = (
    Detector("private_key", "credential",
             r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP |SSH2 )?PRIVATE KEY(?: BLOCK)?-----",
             "PEM, OpenSSH or PGP private key block", 0.95),
    Detector("aws_access_key", "credential", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\b",
             "AWS access key id", 0.9, None, ("aws", "access", "iam"), ("example",)),
    Detector("aws_secret_key", "credential",
             r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}\b",
             "AWS secret access key assignment", 0.9, _not_placeholder),
    Detector("github_token", "credential", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
             "GitHub token (CRC32-checked)", 0.9, _github, ("github", "git"), checksum=True),
    Detector("gitlab_token", "credential", r"\bglpat-[A-Za-z0-9_-]{20}\b", "GitLab personal access token", 0.9),
    Detector("slack_token", "credential", r"\bxox[abposr]-[0-9]{8,13}-[0-9A-Za-z-]{8,80}\b",
             "Slack API token", 0.9, _not_placeholder),
    Detector("slack_webhook", "credential",
             r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{20,32}",
             "Slack incoming webhook URL", 0.9),
    Detector("stripe_key", "credential", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}\b",
             "Stripe secret or restricted key", 0.9, _not_placeholder),
    Detector("google_api_key", "credential", r"\bAIza[0-9A-Za-z_-]{35}", "Google API key", 0.9),
    Detector("jwt", "credential",
             r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
             "JSON Web Token (header checked)", 0.85, jwt_header_valid, ("bearer", "token", "authorization")),
    Detector("password_in_url", "credential",
             r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@\"'<>]{1,64}:[^\s/@\"'<>]{1,128}@[A-Za-z0-9.-]{1,253}",
             "Credentials embedded in a URL", 0.85, _password_in_url),
    Detector("password_assignment", "credential",
             r"(?i)\b(?:password|passwd|pwd|secret|口令|密码)[\"']?\s*[:=]\s*[\"'][^\"'\s]{6,128}[\"']",
             "Password assigned in code or configuration", 0.7, _not_placeholder, negative=("example", "test")),
    Detector("npm_token", "credential", r"\bnpm_[A-Za-z0-9]{36}\b", "npm access token", 0.9),
    Detector("pypi_token", "credential", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,200}", "PyPI upload token", 0.95),
    Detector("openai_key", "credential", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74}\b",
             "OpenAI API key", 0.95),
    Detector("twilio_key", "credential", r"\bSK[0-9a-f]{32}\b", "Twilio API key", 0.6, None,
             ("twilio",), needs_context=True),
    Detector("sendgrid_key", "credential", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b", "SendGrid API key", 0.95),
    Detector("azure_storage_key", "credential", r"AccountKey=[A-Za-z0-9+/]{86}==", "Azure storage account key", 0.95),
    Detector("telegram_bot_token", "credential", r"\b\d{8,10}:AA[0-9A-Za-z_-]{33}\b", "Telegram bot token", 0.85),
    Detector("shopify_token", "credential", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", "Shopify access token", 0.95),
    Detector("digitalocean_token", "credential", r"\bdo[por]_v1_[a-f0-9]{64}\b", "DigitalOcean token", 0.95),
    Detector("generic_api_key", "credential",
             r"(?i)\b(?:api|access|auth|client|secret)[_-]?(?:key|token|secret)[\"']?\s*[:=]\s*[\"'][A-Za-z0-9_\-+/=]{20,128}[\"']",
             "Generic API key or token assignment", 0.6, _not_placeholder, _SECRET_WORDS, ("example", "test", "dummy")),
)
