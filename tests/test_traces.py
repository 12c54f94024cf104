"""Trace importers on the shipped samples and fixtures: row counts, chip-second totals, the
bad-row report on corrupted copies (line numbers named), time shifting and windows, and
`trnsim trace convert` / `trnsim trace stats` through the CLI.

Expected values are computed here from the raw files by the simplest possible reading where
one exists (SWF: numpy over the columns), else worked out by hand from the fixture rows.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import ONE_CHIP_CATALOGUE, ROOT, SCENARIOS, run_cli, run_scenario, write_scenario

from sim.scenario import loader
from sim.workload import build_jobs, traces
from sim.workload.build import SkippedRow, SkippedRows
from sim.workload.traces import philly
from sim.workload.traces.common import Row, TraceError, TraceInfo
from sim.workload.traces.summary import Quantiles, size_bin

FIXTURES = ROOT / "tests" / "fixtures"
HPC2N = SCENARIOS / "traces" / "HPC2N-2002-2.1-cln.first2000.swf.gz"
KTH = FIXTURES / "KTH-SP2-1996-2.1-cln.first2000.swf.gz"
NASA = FIXTURES / "NASA-iPSC-1993-3.1-cln.first300.swf"
ALIBABA = SCENARIOS / "traces" / "alibaba2023-synthetic.csv"


def read_all(path: Path, fmt: str, **options) -> tuple[list[Row], list[tuple[int, str]], TraceInfo]:
    info = TraceInfo()
    rows, bad = [], []
    for r in traces.read(path, fmt, info, **options):
        (bad if isinstance(r, tuple) else rows).append(r)
    return rows, bad, info


def swf_columns(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return np.array([[float(x) for x in line.split()] for line in fh if line.strip() and line[0] != ";"])


def chip_seconds(rows: list[Row]) -> float:
    return sum(r.accelerators * r.duration_s for r in rows)


# --- SWF -------------------------------------------------------------------------------------------

def test_swf_hpc2n_sample_rows_and_chip_seconds():
    rows, bad, info = read_all(HPC2N, "swf")
    raw = swf_columns(HPC2N)
    assert len(raw) == 2000 and len(rows) == 2000 and bad == []
    assert chip_seconds(rows) == pytest.approx(float(raw[:, 4] @ raw[:, 3]))
    assert [r.submit_s for r in rows] == raw[:, 1].tolist()
    waits = [r.recorded_wait_s for r in rows]
    assert waits == [w if w >= 0 else None for w in raw[:, 2]]
    assert {r.status for r in rows} == {"completed"}  # statuses 1 and -1 (unknown)
    assert rows[0].job_id == "1" and rows[0].user == "1" and rows[0].requested_s == 37980
    assert "Acknowledge: Ake Sandgren" in info.notes
    assert info.day_offset_s == 1027839845 + 7200  # UnixStartTime, CEST


def test_swf_kth_failed_jobs_and_nasa_missing_fields():
    rows, bad, _ = read_all(KTH, "swf")
    raw = swf_columns(KTH)
    assert len(rows) == 2000 and not bad
    assert sum(r.status == "failed" for r in rows) == int(np.sum(raw[:, 10] == 0)) > 0
    assert chip_seconds(rows) == pytest.approx(float(raw[:, 4] @ raw[:, 3]))
    rows, bad, info = read_all(NASA, "swf")
    assert len(rows) == 300 and not bad
    assert all(r.recorded_wait_s is None and r.requested_s is None for r in rows)
    assert "Acknowledge: Bill Nitzberg" in info.notes


def test_swf_plain_and_gzip_read_the_same(tmp_path):
    plain = tmp_path / "hpc2n.swf"
    plain.write_bytes(gzip.decompress(HPC2N.read_bytes()))
    assert read_all(plain, "swf")[0] == read_all(HPC2N, "swf")[0]


def _corrupt_swf(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """A copy of the HPC2N sample with broken records; returns it and {line: part of the reason}."""
    lines = gzip.decompress(HPC2N.read_bytes()).decode().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if not line.startswith(";"))

    def edit(k: int, field: int, value: str) -> None:
        f = lines[first + k].split()
        f[field] = value
        lines[first + k] = " ".join(f) + "\n"

    expect = {}
    lines[first + 10] = " ".join(lines[first + 10].split()[:17]) + "\n"
    expect[first + 11] = "17 fields"
    edit(20, 3, "-1")
    expect[first + 21] = "run time unknown"
    edit(30, 4, "x7")
    expect[first + 31] = "not a number: 'x7'"
    edit(40, 10, "5")
    edit(40, 3, "0")
    expect[first + 41] = "cancelled before it started"
    edit(50, 10, "3")
    expect[first + 51] = "partial-execution record"
    edit(60, 4, "-1")
    edit(60, 7, "-1")
    expect[first + 61] = "processor count unknown"
    edit(70, 4, "-1")  # requested processors remain: repaired, not skipped
    edit(80, 10, "5")  # cancelled after it ran: killed
    edit(90, 10, "0")  # failed
    path = tmp_path / "corrupt.swf"
    path.write_text("".join(lines))
    return path, expect


def test_swf_bad_rows_are_reported_with_their_lines(tmp_path):
    path, expect = _corrupt_swf(tmp_path)
    rows, bad, _ = read_all(path, "swf")
    assert len(rows) == 2000 - len(expect)
    assert [line for line, _ in bad] == sorted(expect)
    for line, reason in bad:
        assert expect[line] in reason, (line, reason)
    by_line = {r.line: r for r in rows}
    raw = swf_columns(HPC2N)
    first = min(by_line) - 0  # the first record's line
    repaired = by_line[first + 70]
    assert repaired.repair and repaired.accelerators == raw[70, 7]
    assert by_line[first + 80].status == "killed" and by_line[first + 90].status == "failed"


def test_bad_rows_reach_the_run_report_and_summary(tmp_path):
    path, expect = _corrupt_swf(tmp_path)
    run = run_scenario(tmp_path, {
        "name": "corrupt", "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": {"pools": [{"name": "seth", "instance": "hpc-node", "count": 240}]},
        "workload": [{"name": "h", "trace": {"path": str(path), "format": "swf", "window": {"end": "10d"}}}]})
    assert run.summary["rows_skipped"] == len(expect)
    report = (run.path / "report.md").read_text()
    for line, reason in expect.items():
        listed = [r for r in report.splitlines() if r.startswith("|") and f"| {line} |" in r]
        assert len(listed) == 1 and reason in listed[0], (line, listed)


# --- Alibaba GPU trace v2023 (synthetic pod list in its format) --------------------------------------------

def _alibaba_expected(keep_survivors: bool = False) -> dict:
    """The import rules, applied by the plainest reading of the file."""
    with open(ALIBABA) as fh:
        pods = list(csv.DictReader(fh))
    cutoff = min(int(p["deletion_time"]) for p in pods)
    out = {"survivor": 0, "unscheduled": 0, "cpu": 0, "kept": [], "repaired": 0}
    for p in pods:
        if int(p["creation_time"]) < cutoff and not keep_survivors:
            out["survivor"] += 1
        elif not p["scheduled_time"]:
            out["unscheduled"] += 1
        elif int(p["num_gpu"]) == 0:
            out["cpu"] += 1
        else:
            out["kept"].append(p)
            out["repaired"] += int(p["num_gpu"]) == 1 and int(p["gpu_milli"]) < 1000
    return out


def test_alibaba2023_rules_on_the_synthetic_pod_list():
    rows, bad, info = read_all(ALIBABA, "alibaba2023")
    want = _alibaba_expected()
    assert (want["survivor"], want["unscheduled"], want["cpu"], len(want["kept"]), want["repaired"]) == (
        8, 11, 19, 122, 66)  # the fixture exercises every rule
    reasons = [reason for _, reason in bad]
    assert reasons.count("survivor (created before the earliest deletion time)") == 8
    assert reasons.count("never scheduled (empty scheduled_time)") == 11
    assert reasons.count("CPU-only pod (num_gpu 0)") == 19
    assert len(rows) == 122 and sum(r.repair is not None for r in rows) == 66
    assert [r.job_id for r in rows] == [p["name"] for p in want["kept"]]
    expected_chip_s = sum(max(1, int(p["num_gpu"])) * (int(p["deletion_time"]) - int(p["scheduled_time"]))
                          for p in want["kept"])
    assert chip_seconds(rows) == expected_chip_s
    by_id = {p["name"]: p for p in want["kept"]}
    for r in rows:
        p = by_id[r.job_id]
        assert r.queue == p["qos"]
        assert r.status == ("failed" if p["pod_phase"] == "Failed" else "completed")
        assert r.recorded_wait_s == int(p["scheduled_time"]) - int(p["creation_time"])
    assert "864,000 s" in info.notes[0]
    survivors, _, _ = read_all(ALIBABA, "alibaba2023", keep_survivors=True)
    assert len(survivors) == len(_alibaba_expected(keep_survivors=True)["kept"]) == 130


def test_alibaba2023_repairs_reach_the_job_table(tmp_path):
    path = write_scenario(tmp_path, {
        "name": "ali", "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 2}]},
        "workload": [{"name": "openb", "trace": {"path": str(ALIBABA), "format": "alibaba2023"}}]})
    jobs = build_jobs(loader.load(path), 1)
    assert len(jobs) == 122 and len(jobs.skipped) == 38 and jobs.repaired == 66
    assert jobs.skipped.by_reason == {"survivor (created before the earliest deletion time)": 8, "never scheduled (empty scheduled_time)": 11,
                                      "CPU-only pod (num_gpu 0)": 19}
    assert min(jobs.submit) == 0.0 and jobs.id[0].startswith("openb-synthetic-pod-")


def test_rows_repaired_in_the_summary(tmp_path):
    run = run_scenario(tmp_path, {
        "name": "ali", "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 2}]},
        "workload": [{"trace": {"path": str(ALIBABA), "format": "alibaba2023"}}]})
    assert run.summary["rows_repaired"] == 66


# --- GPU traces with only their publishers' example rows (fixtures) ------------------------------------

def test_philly_fixture():
    rows, bad, _ = read_all(FIXTURES / "philly_cluster_job_log.json", "philly")
    assert [r.job_id for r in rows] == ["application_1506638472019_14199", "synthetic_killed", "synthetic_failed"]
    example = rows[0]
    # first start 2017-10-07 01:12:09 -> last end 2017-10-09 06:53:12, submitted 01:11:39
    assert (example.accelerators, example.duration_s, example.recorded_wait_s) == (8, 2 * 86400 + 20463, 30)
    assert (example.status, example.queue, example.user) == ("completed", "ee9e8c", "ce2f4c")
    assert [r.status for r in rows[1:]] == ["killed", "failed"]
    assert chip_seconds(rows) == 8 * 193263 + 8 * 3600 + 1 * 600
    assert [reason for _, reason in bad] == ["no attempts (never started)",
                                             "still running at the snapshot (last attempt has no end_time)",
                                             "first attempt has no start_time"]
    text = (FIXTURES / "philly_cluster_job_log.json").read_text().splitlines()
    for line, _ in bad:
        assert text[line - 1].strip() == "{", "a job's line is where its object starts"


def test_philly_streams_across_buffer_boundaries(tmp_path, monkeypatch):
    whole = read_all(FIXTURES / "philly_cluster_job_log.json", "philly")
    monkeypatch.setattr(philly, "_CHUNK", 7)
    assert read_all(FIXTURES / "philly_cluster_job_log.json", "philly")[:2] == whole[:2]
    broken = tmp_path / "broken.json"
    text = (FIXTURES / "philly_cluster_job_log.json").read_text()
    broken.write_text(text.replace('"jobid": "synthetic_failed",', '"jobid": "synthetic_failed"', 1))
    line = text[: text.index('"jobid": "synthetic_failed"')].count("\n") + 2
    with pytest.raises(TraceError, match=rf"broken.json:{line}: invalid JSON"):
        read_all(broken, "philly")


def test_pai2020_joins_jobs_and_tasks(tmp_path):
    rows, bad, info = read_all(FIXTURES / "pai_job_table.csv", "pai2020")
    assert [r.job_id for r in rows] == ["4b3f04b66a525d2df903eb16", "4f057009a5d481acec67b088",
                                        "synthetic0000000000000002"]
    a, b, c = rows
    assert (a.accelerators, a.duration_s, a.recorded_wait_s, a.status) == (2, 526, 11, "completed")
    assert (b.accelerators, b.duration_s, b.recorded_wait_s, b.repair is not None) == (1, 38, 12, True)
    assert (c.accelerators, c.duration_s, c.recorded_wait_s, c.status) == (8, 600, 100, "failed")
    assert chip_seconds(rows) == 5890
    assert [(line, reason) for line, reason in bad] == [
        (4, "CPU-only job (no plan_gpu)"), (5, "still running at the end of the trace (status Running)"),
        (6, "no task rows for this job")]
    assert info.day_offset_s == 8 * 3600
    # a directory holding both tables, or the task table named explicitly
    for name in ("pai_job_table.csv", "pai_task_table.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    assert read_all(tmp_path, "pai2020")[0] == rows
    shutil.copy(FIXTURES / "pai_task_table.csv", tmp_path / "tasks.csv")
    shutil.copy(FIXTURES / "pai_job_table.csv", tmp_path / "jobs_only.csv")
    assert read_all(tmp_path / "jobs_only.csv", "pai2020", tasks=tmp_path / "tasks.csv")[0] == rows
    # a broken task row is reported with its line in the task table
    lines = (FIXTURES / "pai_task_table.csv").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",100.0,V100", ",lots,V100")
    (tmp_path / "pai_task_table.csv").write_text("".join(lines))
    _, bad, _ = read_all(tmp_path, "pai2020")
    assert (2, "in task table pai_task_table.csv: plan_gpu is not a number: 'lots'") in bad


def test_helios_fixture():
    rows, bad, _ = read_all(FIXTURES / "helios_cluster_log.csv", "helios")
    assert [r.job_id for r in rows] == ["1425511", "1425512", "1425513", "1425516"]
    assert [r.status for r in rows] == ["completed", "failed", "killed", "killed"]
    assert [r.duration_s for r in rows] == [36848, 249, 675233, 86400]  # end - start, as the file's duration
    assert rows[3].recorded_wait_s == 1800 and rows[0].queue == "vcJkd" and rows[0].user == "uXBbc"
    assert chip_seconds(rows) == 36848 + 4 * 249 + 675233 + 16 * 86400
    assert bad == [(5, "CPU job (gpu_num 0)"), (6, "cancelled before it started (no start_time)")]
    assert rows[0].submit_s == datetime(2020, 6, 9, 18, 41, 1, tzinfo=UTC).timestamp()


def test_acme_fixtures_normalise_time_zones_and_recompute_durations():
    seren, bad, info = read_all(FIXTURES / "acme_trace_seren.csv", "acme")
    assert [r.duration_s for r in seren] == [117, 2693] and bad == [(4, "CPU job (gpu_num 0)")]
    assert seren[0].submit_s == datetime(2023, 2, 28, 16, 18, 22, tzinfo=UTC).timestamp()  # +08:00
    assert info.day_offset_s == 8 * 3600 and seren[0].queue == "Other"
    kalos, bad, _ = read_all(FIXTURES / "acme_trace_kalos.csv", "acme")
    # the file's duration column says 18 and 82 (end - submit); the run time is end - start
    assert [r.duration_s for r in kalos] == [8, 70] and not bad
    assert [r.status for r in kalos] == ["failed", "killed"]
    assert [r.recorded_wait_s for r in kalos] == [10, 12]
    assert chip_seconds(seren) == 8 * (117 + 2693) and chip_seconds(kalos) == 64 * (8 + 70)


def test_csv_format_reads_gzip(tmp_path):
    sample = SCENARIOS / "traces" / "sample.csv"
    (tmp_path / "sample.csv.gz").write_bytes(gzip.compress(sample.read_bytes()))
    assert read_all(tmp_path / "sample.csv.gz", "csv")[0] == read_all(sample, "csv")[0]


# --- windows, shifting and scaling -----------------------------------------------------------------

def test_window_shift_and_scales(tmp_path):
    raw = swf_columns(HPC2N)
    submit = raw[:, 1] - raw[0, 1]
    inside = (submit >= 86400) & (submit < 3 * 86400)
    path = write_scenario(tmp_path, {
        "name": "window", "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": {"pools": [{"name": "seth", "instance": "hpc-node", "count": 240}]},
        "workload": [{"name": "h", "trace": {"path": str(HPC2N), "format": "swf", "start": "2h",
                                             "window": {"start": "1d", "end": "3d"},
                                             "chips_scale": 0.25, "time_scale": 2}}]})
    jobs = build_jobs(loader.load(path), 1)
    assert len(jobs) == int(inside.sum()) > 0
    assert min(jobs.submit) == 7200.0
    first = submit[inside].min()
    assert jobs.submit == pytest.approx((7200 + submit[inside] - first).tolist())
    assert jobs.chips == [max(1, math.ceil(p * 0.25)) for p in raw[inside, 4]]
    assert jobs.duration == pytest.approx((2 * raw[inside, 3]).tolist())
    assert jobs.recorded_wait == raw[inside, 2].tolist()
    assert jobs.id[0] == f"h-{int(raw[inside, 0][0])}"


def test_trace_options_are_checked(tmp_path):
    text = f"""\
name: opts
cluster:
  pools: [{{name: trn2, instance: trn2.48xlarge, count: 1}}]
workload:
  - trace: {{path: {HPC2N}, format: swf, keep_survivors: true}}
  - trace: {{path: {HPC2N}, format: swf, window: {{start: 2d, end: 1d}}}}
  - trace: {{path: {HPC2N}, format: parquet}}
"""
    proc = run_cli("validate", write_scenario(tmp_path, text))
    assert proc.returncode == 2
    assert ":5:5: workload.0.trace: keep_survivors applies to format alibaba2023 only" in proc.stderr
    assert ":6:5: workload.1.trace: window.end must be after window.start" in proc.stderr
    assert ": workload.2.trace.format: Input should be 'csv', 'swf', 'alibaba2023'" in proc.stderr


# --- the skipped-row list ------------------------------------------------------------------------------

def test_skipped_rows_count_everything_and_keep_the_first(monkeypatch):
    monkeypatch.setattr(SkippedRows, "KEEP", 3)
    skipped = SkippedRows()
    for k in range(10):
        skipped.append(SkippedRow("t", "f", k + 2, f"chips is not a number: '{k}'"))
    assert len(skipped) == 10 and [r.line for r in skipped] == [2, 3, 4] and skipped[:2][1].line == 3
    assert skipped.by_reason == {"chips is not a number": 10}


def test_quantile_sketch_and_size_bins():
    x = np.random.default_rng(5).lognormal(6, 2, 50_000)
    q = Quantiles()
    for v in x:
        q.add(float(v))
    q.add(0.0)
    xs = np.sort(np.concatenate([x, [0.0]]))
    for p in (0.1, 0.5, 0.9, 0.99):
        assert q.quantile(p) == pytest.approx(np.quantile(xs, p, method="lower"), rel=0.01)
    assert q.quantile(0) == 0.0 and q.quantile(1) == xs[-1]
    assert [size_bin(a) for a in (0.5, 1, 1.5, 2, 3, 4, 5, 8, 9, 64, 65)] == [
        "<1", "1", "2", "2", "3-4", "3-4", "5-8", "5-8", "9-16", "33-64", "65-128"]


# --- the CLI ---------------------------------------------------------------------------------------

def test_trace_convert_then_replay_as_csv(tmp_path):
    out = tmp_path / "hpc2n.csv"
    proc = run_cli("trace", "convert", "--format", "swf", HPC2N, "-o", out, check=True)
    assert f"wrote {out}: 2,000 jobs, 0 rows skipped, 0 repaired" in proc.stdout
    again, bad, _ = read_all(out, "csv")
    original, _, _ = read_all(HPC2N, "swf")
    assert not bad
    keys = ("job_id", "submit_s", "accelerators", "duration_s", "requested_s", "user", "status", "recorded_wait_s")
    assert [[getattr(r, k) for k in keys] for r in again] == [[getattr(r, k) for k in keys] for r in original]
    proc = run_cli("trace", "convert", "--format", "swf", HPC2N, "-o", out)
    assert proc.returncode == 2 and proc.stderr.strip() == f"--out {out}: exists (use --force to replace it)"
    gz = tmp_path / "ali.csv.gz"
    proc = run_cli("trace", "convert", "--format", "alibaba2023", ALIBABA, "-o", gz, "--quiet", check=True)
    assert proc.stdout == "" and proc.stderr == ""
    assert len(read_all(gz, "csv")[0]) == 122


def test_trace_convert_bad_input_is_one_located_line(tmp_path):
    missing = tmp_path / "nope.swf"
    proc = run_cli("trace", "convert", "--format", "swf", missing, "-o", tmp_path / "x.csv")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"cannot read trace {missing}: No such file or directory"
    header = tmp_path / "bad.csv"
    header.write_text("job,submit_s,chips\n1,0,4\n")
    proc = run_cli("trace", "convert", "--format", "csv", header, "-o", tmp_path / "x.csv")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{header}:1: missing column(s) job_id, duration_s"
    corrupt, expect = _corrupt_swf(tmp_path)
    proc = run_cli("trace", "convert", "--format", "swf", corrupt, "-o", tmp_path / "y.csv")
    assert proc.returncode == 0
    named = [line for line in proc.stderr.splitlines() if ": skipped: " in line]
    assert [int(line.split(":")[1]) for line in named] == sorted(expect)
    proc = run_cli("trace", "convert", "--format", "swf", corrupt, "-o", tmp_path / "z.csv", "--strict")
    line = min(expect)
    assert proc.returncode == 2 and proc.stderr.strip() == f"{corrupt}:{line}: 17 fields (an SWF record has 18)"
    assert not (tmp_path / "z.csv").exists() and not list(tmp_path.glob(".z.csv*"))
    proc = run_cli("trace", "convert", "--format", "swf", "--keep-survivors", HPC2N, "-o", tmp_path / "w.csv")
    assert proc.returncode == 2 and "--keep-survivors: applies to --format alibaba2023 only" in proc.stderr


def test_trace_stats(tmp_path):
    proc = run_cli("trace", "stats", HPC2N, "--format", "swf", "--json", check=True)
    s = json.loads(proc.stdout)
    raw = swf_columns(HPC2N)
    assert s["jobs"] == 2000 and s["skipped"] == 0
    assert s["span_s"] == raw[-1, 1] - raw[0, 1]
    assert s["accelerator_s"] == pytest.approx(float(raw[:, 4] @ raw[:, 3]))
    assert sum(s["size_histogram"].values()) == 2000
    assert s["size_histogram"]["1"] == int(np.sum(raw[:, 4] == 1))
    run = np.sort(raw[:, 3])
    for p in (10, 50, 90, 99):
        assert s["duration_s"][f"p{p}"] == pytest.approx(np.quantile(run, p / 100, method="lower"), rel=0.01)
    hours = ((raw[:, 1] + 1027839845 + 7200) % 86400 // 3600).astype(int)
    assert s["arrivals_by_hour"] == np.bincount(hours, minlength=24).tolist()
    text = run_cli("trace", "stats", ALIBABA, "--format", "alibaba2023", check=True).stdout
    for needle in ("jobs: 122 usable, 38 rows skipped, 66 repaired", "skipped: 19  CPU-only pod (num_gpu 0)",
                   "accelerators per job:", "run time: p10", "arrivals by hour of day"):
        assert needle in text, needle
    proc = run_cli("trace", "stats", tmp_path / "none.json", "--format", "philly")
    assert proc.returncode == 2 and proc.stderr.startswith("cannot read trace")
