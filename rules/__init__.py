"""Content rules: detectors, keyword lists, fingerprints, exact data match, extraction, zone policies.

A pure library (no files, sockets, clocks or threads). Entry points: `rules.detectors.scan_text`,
`rules.extract.extract`, `rules.policy.load_policy`, `rules.engine.evaluate`; see docs/rules.md.
"""
