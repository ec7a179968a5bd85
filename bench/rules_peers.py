"""Peers run on the same corpora: Presidio's pattern recognizers and detect-secrets' plugins.

Each adapter turns text into (our detector id, start, end) spans so that one scorer judges all; a
peer type that covers several of ours (Presidio's IP_ADDRESS) is named "ipv4|ipv6".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Span = tuple[str, int, int]

#: Presidio entity -> our detector ids it corresponds to.
PRESIDIO_ENTITIES = {
    "CREDIT_CARD": ("credit_card",), "EMAIL_ADDRESS": ("email",), "IBAN_CODE": ("iban",),
    "IP_ADDRESS": ("ipv4", "ipv6"), "US_SSN": ("us_ssn",), "CRYPTO": ("bitcoin_address",),
    "ABA_ROUTING_NUMBER": ("us_aba_routing",), "IN_AADHAAR": ("in_aadhaar",), "SG_NRIC_FIN": ("sg_nric",),
    "UK_NHS": ("uk_nhs",), "ES_NIF": ("es_dni",),
}
#: detect-secrets plugin (module, class) -> our detector id.
DETECT_SECRETS_PLUGINS = {
    ("aws", "AWSKeyDetector"): "aws_access_key", ("github_token", "GitHubTokenDetector"): "github_token",
    ("slack", "SlackDetector"): "slack_token", ("stripe", "StripeDetector"): "stripe_key",
    ("jwt", "JwtTokenDetector"): "jwt", ("private_key", "PrivateKeyDetector"): "private_key",
    ("basic_auth", "BasicAuthDetector"): "password_in_url", ("sendgrid", "SendGridDetector"): "sendgrid_key",
    ("npm", "NpmDetector"): "npm_token",
}


def presidio_scanner() -> Callable[[str], list[Span]]:
    """Presidio's analyzer with spaCy's blank English pipeline (no model download)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

    class BlankEnglish(SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = AnalyzerEngine(nlp_engine=BlankEnglish(), supported_languages=["en"])
    entities = list(PRESIDIO_ENTITIES)

    def scan(text: str) -> list[Span]:
        spans = []
        for result in engine.analyze(text=text, language="en", entities=entities):
            spans.append(("|".join(PRESIDIO_ENTITIES[result.entity_type]), result.start, result.end))
        return spans

    return scan


def detect_secrets_scanner() -> Callable[[str], list[Span]]:
    """detect-secrets' plugins line by line, positions recovered from the reported secret value."""
    import importlib

    plugins = []
    for (module, name), detector in DETECT_SECRETS_PLUGINS.items():
        plugin_class = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)
        plugins.append((plugin_class(), detector))

    def scan(text: str) -> list[Span]:
        spans, offset = [], 0
        for number, line in enumerate(text.split("\n"), 1):
            for plugin, detector in plugins:
                for secret in plugin.analyze_line(filename="corpus.txt", line=line, line_number=number):
                    value = secret.secret_value or ""
                    position = line.find(value) if value else -1
                    if position >= 0:
                        spans.append((detector, offset + position, offset + position + len(value)))
            offset += len(line) + 1
        return spans

    return scan
