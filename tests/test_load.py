"""Load: concurrent clients against a real server, and memory over many questions.

Figures (throughput, p95, RSS) are written to test-artifacts/load.json; docs/reliability.md
quotes them. The assertions are about correctness (no errors, no mixed-up answers) and a
generous bound on memory growth, not about speed.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.real

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTIONS = [
    "What is the most frequent cause of metastatic calcinosis cutis?",
    "Where do the lesions of tumoral calcinosis appear?",
    "What is osteoma cutis?",
    "What dose of diltiazem should be given?",  # declined
    "Which gene causes idiopathic scrotal calcinosis?",  # declined
]
CLIENTS, PER_CLIENT = 10, 5


def _record(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "load.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2))
    print(name, figures)


def _ask(url: str, question: str, llm: str) -> tuple[str, dict, float, int]:
    began = time.perf_counter()
    response = httpx.post(url + "/api/ask", json={"question": question, "llm": llm}, timeout=120)
    return question, response.json(), time.perf_counter() - began, response.status_code


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


@pytest.mark.parametrize("llm", ["extractive", "local"])
def test_concurrent_clients_get_their_own_answers(server, llm):
    expected = {q: _ask(server.url, q, llm)[1] for q in QUESTIONS}  # one at a time, first
    jobs = [QUESTIONS[(client + i) % len(QUESTIONS)] for client in range(CLIENTS) for i in range(PER_CLIENT)]
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda q: _ask(server.url, q, llm), jobs))
    elapsed = time.perf_counter() - began
    assert [status for *_, status in results] == [200] * len(jobs)
    for question, answer, _, _ in results:
        assert answer["question"] == question
        reference = expected[question]
        if answer["note"] and not reference["note"]:  # waited past llm_timeout: source sentences
            assert "failed" in answer["note"] and answer["citations"]
        else:
            assert (answer["text"], answer["abstained"]) == (reference["text"], reference["abstained"])
    latencies = [seconds for _, _, seconds, _ in results]
    _record(f"concurrent_{llm}", {
        "requests": len(jobs), "clients": CLIENTS, "seconds": round(elapsed, 2),
        "throughput_per_s": round(len(jobs) / elapsed, 2), "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(_p95(latencies), 3),
        "fell_back": sum(1 for _, a, _, _ in results if a["note"] and "failed" in a["note"])})


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# glibc sizes its heap by the largest blocks it has seen freed: with tensors of ever new
# shapes (each question pads to its own length) the heap grows for ~600 questions and
# settles ~100 MB higher, then moves +-20 MB (measured: 702 -> 827 MB in-process over 900
# questions). That is fragmentation, not a leak, and it would hide one. With a fixed mmap
# threshold the large tensors go back to the OS when freed, the heap settles within ~300
# questions (696 -> 718 MB over 900), and what stays is what the program holds.
QUIET_HEAP = {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)}


@pytest.fixture(scope="module")
def quiet_heap_server(real_settings, tmp_path_factory):
    from conftest import Server

    server = Server(Path(real_settings.home), {"SOURCEQA_LLM": "extractive", **QUIET_HEAP},
                    tmp_path_factory.mktemp("logs") / "quiet-heap-server.log")
    yield server.wait_ready()
    server.stop()


def test_memory_stays_flat_over_500_questions(quiet_heap_server):
    server = quiet_heap_server
    with httpx.Client(base_url=server.url, timeout=60) as client:
        def ask(i: int) -> None:
            question = f"{QUESTIONS[i % len(QUESTIONS)]} (variant {i})"
            assert client.post("/api/ask", json={"question": question, "llm": "extractive"}).status_code == 200

        for i in range(200):  # warm-up: the models' first shapes, caches and the heap settle
            ask(i)
        rss = [_rss_mb(server.process.pid)]
        began = time.perf_counter()
        for i in range(200, 700):
            ask(i)
            if i % 100 == 99:
                rss.append(_rss_mb(server.process.pid))
    _record("memory_500_questions", {"rss_mb_every_100": [round(r, 1) for r in rss],
                                     "growth_mb": round(rss[-1] - rss[0], 1), "heap": QUIET_HEAP,
                                     "seconds": round(time.perf_counter() - began, 1)})
    assert rss[-1] - rss[0] < 20, f"RSS grew from {rss[0]:.0f} MB to {rss[-1]:.0f} MB over 500 questions: {rss}"
