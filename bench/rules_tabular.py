"""Precision and recall on the tabular slice of the labelled corpus (`bench.rules_tables`), printed
by `bench.rules` next to the prose table: per detector, split by the header's language, with the
misses explained (a header name no detector word matches, or a detector's per-text candidate cap)."""

from __future__ import annotations

from collections import defaultdict

from bench.rules import TARGET, Counts, Span, our_spans, overlaps, pr_cell, recall_split, score, target_lines
from bench.rules_values import all_generators
from rules.detectors import scanner_for


def capped_misses(texts: list[str], truth: list[list[Span]], found: list[list[Span]]) -> str:
    """Missed values in tables where their detector reached its per-text candidate cap."""
    scanner = scanner_for()
    misses: dict[str, int] = defaultdict(int)
    for text, labels, spans in zip(texts, truth, found, strict=True):
        missed = [kind for kind, start, end in labels
                  if not any(k == kind and overlaps((s, e), (start, end)) for k, s, e in spans)]
        capped = set(scanner.scan_report(text).truncated) if missed else set()
        for kind in missed:
            misses[kind] += kind in capped
    counts = ", ".join(f"{k} {v}" for k, v in sorted(misses.items()) if v)
    return f"Misses (>= medium) in tables where the detector reached its candidate cap: {counts or 'none'}."


#: Detectors whose recall per header name is always printed (the short formats of issue #4).
SHORT_FORMATS = ("ca_sin", "in_aadhaar", "uk_nhs", "us_aba_routing")


def recall_by_header(documents: list[tuple[str, list[Span], str, str]], found: list[list[Span]],
                     medium: Counts, by: str = "header") -> list[str]:
    """For checksum detectors under the target, and the short formats: recall (>= medium) per header name."""
    from rules.catalog import detector_by_id

    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (_, labels, _, header), spans in zip(documents, found, strict=True):
        for kind, start, end in labels:
            hits[kind, header][0] += any(k == kind and overlaps((s, e), (start, end)) for k, s, e in spans)
            hits[kind, header][1] += 1
    out = []
    for kind in sorted({k for k, _ in hits}):
        tp, fp, fn = medium.get(kind, (0, 0, 0))
        detector = detector_by_id(kind)
        missed = tp / max(1, tp + fn) < TARGET or tp / max(1, tp + fp) < TARGET
        if detector and detector.checksum and (missed or kind in SHORT_FORMATS):
            names = [f'"{h}" {v[0]}/{v[1]}' for (k, h), v in sorted(hits.items()) if k == kind]
            out.append(f"Recall of {kind} by {by} (>= medium): {', '.join(names)}.")
    return out


def tabular_table(per_type: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """P/R on the tabular slice (`bench.rules_tables`), recall split by the header's language."""
    from bench.rules_tables import tabular_documents

    return slice_table(tabular_documents(seed, per_type, all_generators()), ("en", "zh"), "English / Chinese header")


def document_table(per_type: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """P/R on the document tables (`bench.rules_doc_tables`), recall split by file format."""
    from bench.rules_doc_tables import FORMATS, document_tables

    return slice_table(document_tables(seed, per_type, all_generators()), FORMATS, " / ".join(FORMATS))


def inline_table(per_type: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """P/R on values listed inline in paragraphs (`bench.rules_inline`), recall split by list length."""
    from bench.rules_inline import PARTS, inline_documents

    documents = inline_documents(seed, per_type, all_generators())
    return slice_table(documents, PARTS, " / ".join(PARTS), unit="paragraphs", by="form")


def slice_table(documents: list[tuple[str, list[Span], str, str]], parts: tuple[str, ...],
                split: str, unit: str = "tables", by: str = "header") -> tuple[list[str], dict[str, object]]:
    """P/R per detector on labelled tables; recall split by the documents' third field (`parts`)."""
    from rules.catalog import detector_by_id

    texts, truth = [d[0] for d in documents], [d[1] for d in documents]
    ours = {level: score(our_spans(texts, level), truth) for level in ("low", "medium")}
    medium = our_spans(texts, "medium")
    by_part: dict[object, Counts] = {part: score([s for s, d in zip(medium, documents, strict=True) if d[2] == part],
                                                 [d[1] for d in documents if d[2] == part]) for part in parts}
    lines = ["| detector | checksum | n | ours P / R (>= low) | ours P / R (>= medium) | "
             f"ours R (>= medium), {split} |", "|---|---|---|---|---|---|"]
    kinds = sorted({k for labels in truth for k, _, _ in labels})
    for kind in kinds:
        n = sum(1 for labels in truth for k, _, _ in labels if k == kind)
        detector = detector_by_id(kind)
        lines.append(f"| {kind} | {'yes' if detector and detector.checksum else ''} | {n} | {pr_cell(ours['low'], kind, n)} | "
                     f"{pr_cell(ours['medium'], kind, n)} | {recall_split(by_part, parts, kind)} |")
    stray = {k: v[1] for k, v in ours["medium"].items() if k not in kinds and v[1]}
    lines.append(f"| other detectors (false positives at >= medium) | | | {sum(stray.values())} {stray or ''} | | |")
    size = sum(len(t.encode()) for t in texts) / 1e6
    lines += ["", f"{len(documents)} {unit}, {size:.1f} MB. {capped_misses(texts, truth, medium)}",
              *recall_by_header(documents, medium, ours["medium"], by), *target_lines(ours, kinds)]
    return lines, {"ours": ours, "ours_medium_by_part": by_part}
