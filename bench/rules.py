"""Benchmark of the content rules engine: throughput, precision/recall against peers, worst case,
policy load time. Prints one table; `python -m bench.rules --help` for sizes."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.rules_corpus import adversarial_inputs, labelled_documents, mixed_documents, policy_pack
from bench.rules_values import all_generators
from rules.detectors import scanner_for
from rules.finding import level_rank
from rules.policy import default_policy_text, load_policy

Span = tuple[str, int, int]
OUT = Path(__file__).parent / "out"


def default_pack_scanner() -> object:
    policies = [load_policy(default_policy_text(zone)) for zone in ("low", "medium", "high")]
    keywords = {k.id: k for p in policies for k in p.keywords}
    ids = {d for p in policies for d in p.detector_ids()} - {"fingerprint", "edm"} - set(keywords)
    return scanner_for(sorted(ids), tuple(keywords.values()))


def throughput(scan: Callable[[str], object], documents: list[str]) -> float:
    """MB/s of CPU time (one core) over the documents."""
    size = sum(len(d.encode()) for d in documents)
    started = time.process_time()
    for document in documents:
        scan(document)
    return size / 1e6 / (time.process_time() - started)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(predicted: Iterable[list[Span]], truth: list[list[Span]]) -> dict[str, tuple[int, int, int]]:
    """Per detector (true positives, false positives, false negatives) over all documents."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for spans, labels in zip(predicted, truth, strict=True):
        for kind, start, end in labels:
            hit = any(kind in d.split("|") and overlaps((s, e), (start, end)) for d, s, e in spans)
            counts[kind][0 if hit else 2] += 1
        for detector, start, end in set(spans):
            kinds = detector.split("|")
            if not any(k in kinds and overlaps((s, e), (start, end)) for k, s, e in labels):
                for kind in kinds:  # a shared peer type counts its false positive against each of ours
                    counts[kind][1] += 1
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def our_spans(texts: list[str], min_level: str) -> list[list[Span]]:
    scanner = scanner_for()
    return [[(f.detector, f.start, f.end) for f in scanner.scan(t) if level_rank(f.level) >= level_rank(min_level)]
            for t in texts]


def accuracy_table(per_type: int, seed: int) -> tuple[list[str], dict[str, object]]:
    from bench.rules_peers import detect_secrets_scanner, presidio_scanner

    documents = labelled_documents(seed, per_type, all_generators())
    texts, truth = [d[0] for d in documents], [d[1] for d in documents]
    ours = {level: score(our_spans(texts, level), truth) for level in ("low", "medium")}
    medium_spans = our_spans(texts, "medium")
    by_context = {flag: score([s for s, d in zip(medium_spans, documents, strict=True) if d[2] is flag],
                              [d[1] for d in documents if d[2] is flag]) for flag in (True, False)}
    presidio = presidio_scanner()
    secrets = detect_secrets_scanner()
    peers = {"presidio": score([presidio(t) for t in texts], truth), "detect-secrets": score([secrets(t) for t in texts], truth)}
    from rules.catalog import detector_by_id

    lines = ["| detector | checksum | n | ours P / R (>= low) | ours P / R (>= medium) | ours R (>= medium), "
             "with / without context word | Presidio P / R | detect-secrets P / R |",
             "|---|---|---|---|---|---|---|---|"]
    kinds = sorted({k for _, labels, _ in documents for k, _, _ in labels})
    for kind in kinds:
        n = sum(1 for labels in truth for k, _, _ in labels if k == kind)
        cells = [pr_cell(table, kind, n) for table in (ours["low"], ours["medium"], peers["presidio"], peers["detect-secrets"])]
        cells.insert(2, recall_split(by_context, (True, False), kind))
        detector = detector_by_id(kind)
        lines.append(f"| {kind} | {'yes' if detector and detector.checksum else ''} | {n} | " + " | ".join(cells) + " |")
    stray = {k: v[1] for k, v in ours["medium"].items() if k not in kinds and v[1]}
    lines.append(f"| other detectors (false positives at >= medium) | | | {sum(stray.values())} {stray or ''} | | | | |")
    lines += ["", *target_lines(ours, kinds)]
    return lines, {"ours": ours, "peers": peers, "ours_medium_by_context": {str(k): v for k, v in by_context.items()}}


Counts = dict[str, tuple[int, int, int]]


def pr_cell(table: Counts, kind: str, n: int) -> str:
    tp, fp, fn = table.get(kind, (0, 0, n))
    return f"{ratio(tp, tp + fp)} / {ratio(tp, tp + fn)}" if kind in table and (tp or fp) else "n/a"


def recall_split(parts: dict[object, Counts], keys: tuple[object, ...], kind: str) -> str:
    return " / ".join(ratio(parts[key].get(kind, (0, 0, 0))[0], sum(parts[key].get(kind, (0, 0, 0))[::2])) for key in keys)


#: Issue #4: "Precision and recall at least 0.98 for every checksum-validated detector".
TARGET = 0.98


def target_lines(ours: dict[str, dict[str, tuple[int, int, int]]], kinds: list[str]) -> list[str]:
    """The target judged at each operating point; ">= medium" is the one it is judged at (what the
    default policies act on)."""
    from rules.catalog import BUILTIN_DETECTORS

    checksum = [d.id for d in BUILTIN_DETECTORS if d.checksum]
    unmeasured = [k for k in checksum if k not in kinds]
    out = []
    for level in ("medium", "low"):
        missed = []
        for kind in (k for k in checksum if k in kinds):
            tp, fp, fn = ours[level].get(kind, (0, 0, 0))
            precision, recall = tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0
            if precision < TARGET or recall < TARGET:
                missed.append(f"{kind} P {precision:.3f} R {recall:.3f}")
        judged = " (the operating point the target is judged at: what default policies act on)" if level == "medium" else ""
        met = len(checksum) - len(unmeasured) - len(missed)
        out.append(f"Target P and R >= {TARGET} for every checksum detector at >= {level}{judged}: "
                   f"{'met' if not missed and not unmeasured else 'not met'}, {met} of {len(checksum)} meet it"
                   + (f"; missed: {', '.join(missed)}" if missed else "")
                   + (f"; not measured: {', '.join(unmeasured)}" if unmeasured else "") + ".")
    return out


def worst_case(size: int) -> list[tuple[str, float]]:
    scanner = scanner_for()
    rows = []
    for name, text in adversarial_inputs(size).items():
        started = time.process_time()
        scanner.scan(text)
        rows.append((name, (time.process_time() - started) * 1000 / (len(text.encode()) / 1e6)))
    return sorted(rows, key=lambda r: -r[1])


def policy_load_ms(rules: int) -> tuple[float, float, float, float]:
    """Median CPU and wall milliseconds to load and validate a pack of `rules` rules, and CPU
    milliseconds of each reader alone (line-based fast path, libyaml)."""
    from rules.policy_lines import parse_lines
    from rules.policy_yaml import parse_document, type_plain

    text = policy_pack(rules)
    wall, cpu, lines, libyaml = [], [], [], []
    for _ in range(7):
        started, started_cpu = time.perf_counter(), time.process_time()
        load_policy(text, source="bench.yaml")
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        started_cpu = time.process_time()
        parse_lines(text, type_plain)
        lines.append((time.process_time() - started_cpu) * 1000)
        started_cpu = time.process_time()
        parse_document(text, "bench.yaml")
        libyaml.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(cpu), statistics.median(wall), statistics.median(lines), statistics.median(libyaml)


def index_speeds(documents: list[str]) -> list[tuple[str, float]]:
    """Fingerprint and EDM matching speed (MB/s, CPU) on a 2 MB slice of the corpus."""
    import random

    from bench.rules_values import cn_resident_id
    from rules.edm import build_edm_index
    from rules.fingerprint import FingerprintIndex

    sample = documents[0][:2_000_000]
    index = FingerprintIndex(b"bench-salt")
    started = time.process_time()
    for number in range(50):
        text = documents[1][number * 20_000 : (number + 1) * 20_000]
        index = index.add(f"doc{number}", f"doc{number}.docx", text.encode(), text)
    register = 50 * 20_000 / 1e6 / (time.process_time() - started)
    rng = random.Random(3)
    rows = [f"name{i} {rng.choice('ABCDEFG')}son,1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)},"
            f"user{i}@example.com,{cn_resident_id(rng)}" for i in range(10_000)]
    started = time.process_time()
    edm = build_edm_index("name,phone,email,id\n" + "\n".join(rows), salt=b"bench-salt")
    edm_index_s = time.process_time() - started
    return [
        ("fingerprint register (50 documents of 20 KB)", register),
        ("fingerprint match against 50 documents", throughput(index.match, [sample])),
        (f"EDM index of 10,000 records x 4 fields ({edm_index_s:.1f} s)", 10_000 * 4 / edm_index_s / 1e6),
        ("EDM match against 10,000 records", throughput(edm.match, [sample])),
    ]


def speed_rows(mb: int, peer_mb: float) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Throughput of ours and the peers on the mixed corpus, and the fingerprint/EDM speeds."""
    from bench.rules_peers import detect_secrets_scanner, presidio_scanner

    started = time.perf_counter()
    documents = mixed_documents(mb, 8, 11, all_generators())
    print(f"corpus: {sum(len(d.encode()) for d in documents) / 1e6:.0f} MB in {len(documents)} documents, "
          f"generated in {time.perf_counter() - started:.1f} s")
    pack = default_pack_scanner()
    every = scanner_for()
    peer_slice = [documents[0][: int(peer_mb * 1_000_000)]]
    speeds = [
        (f"leakguard, default pack ({len(pack.detectors)} detectors + keywords)", throughput(pack.scan, documents)),  # type: ignore[attr-defined]
        (f"leakguard, all {len(every.detectors)} built-in detectors", throughput(every.scan, documents)),
        ("Presidio pattern recognizers (spaCy blank en)", throughput(presidio_scanner(), peer_slice)),
        ("detect-secrets (9 plugins)", throughput(detect_secrets_scanner(), peer_slice)),
    ]
    return speeds, index_speeds(documents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="size of the throughput corpus")
    parser.add_argument("--per-type", type=int, default=200, help="labelled samples per detector type")
    parser.add_argument("--peer-mb", type=float, default=1.0, help="corpus slice for the (slow) peers")
    parser.add_argument("--labelled-only", action="store_true", help="only the precision/recall tables")
    args = parser.parse_args()
    speeds, indexes = ([], []) if args.labelled_only else speed_rows(args.mb, args.peer_mb)
    accuracy, raw = accuracy_table(args.per_type, 5)
    from bench.rules_tabular import document_table, inline_table, tabular_table

    tabular, raw_tabular = tabular_table(args.per_type, 7)
    documents, raw_documents = document_table(args.per_type, 9)
    inline, raw_inline = inline_table(args.per_type, 11)
    worst = [] if args.labelled_only else worst_case(1_000_000)
    load = None if args.labelled_only else policy_load_ms(500)
    print(f"\n## leakguard rules benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, one core, CPU time)\n")
    if speeds:
        print("| scanner | MB/s |\n|---|---|")
    for name, speed in speeds:
        print(f"| {name} | {speed:.2f} |")
    for name, speed in indexes:
        unit = "M fields/s" if name.startswith("EDM index") else "MB/s"
        print(f"| {name} | {speed:.2f} {unit} |")
    print(f"\nPrecision / recall on {args.per_type} labelled samples per type (prose EN/ZH, half with context words, "
          "each with 4 hard negatives):\n")
    print("\n".join(accuracy))
    print(f"\nPrecision / recall on the tabular slice ({args.per_type} labelled cells per type in CSV/TSV tables whose "
          "header names the type in English or Chinese; hard-negative columns; tables naming nothing sensitive):\n")
    print("\n".join(tabular))
    print(f"\nPrecision / recall on document tables ({args.per_type} labelled cells per type in docx, HTML and pptx "
          "tables read through rules.extract; more column names for the four short formats, some untuned):\n")
    print("\n".join(documents))
    print(f"\nPrecision / recall on inline lists ({args.per_type} labelled values per type listed 1-12 to a paragraph "
          "after a neutral word, English or Chinese separators; paragraphs listing 5-12 look-alike numbers):\n")
    print("\n".join(inline))
    if worst:
        print("\n| adversarial input (1 MB) | ms per MB |\n|---|---|")
    for name, ms in worst:
        print(f"| {name} | {ms:.1f} |")
    if load is not None:
        print(f"\nPolicy load, 500 rules + 20 custom regex detectors + 5 keyword lists: {load[0]:.1f} ms CPU, "
              f"{load[1]:.1f} ms wall (median of 7); reading alone: line-based {load[2]:.1f} ms, libyaml "
              f"{load[3]:.1f} ms CPU")
    OUT.mkdir(exist_ok=True)
    name = "rules_labelled.json" if args.labelled_only else "rules.json"
    (OUT / name).write_text(json.dumps({"throughput": speeds, "worst_ms_per_mb": worst, "policy_load_ms": load,
                                        "accuracy": {k: {kk: dict(vv) for kk, vv in v.items()} for k, v in raw.items()},
                                        "tabular": {k: {str(kk): dict(vv) for kk, vv in v.items()} for k, v in raw_tabular.items()},
                                        "documents": {k: {str(kk): dict(vv) for kk, vv in v.items()}
                                                      for k, v in raw_documents.items()},
                                        "inline": {k: {str(kk): dict(vv) for kk, vv in v.items()}
                                                   for k, v in raw_inline.items()}},
                                       indent=1, default=str))


if __name__ == "__main__":
    main()
