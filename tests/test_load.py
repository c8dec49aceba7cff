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


def test_memory_stays_flat_over_500_questions(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        def ask(i: int) -> None:
            question = f"{QUESTIONS[i % len(QUESTIONS)]} (variant {i})"
            assert client.post("/api/ask", json={"question": question, "llm": "extractive"}).status_code == 200

        for i in range(100):  # warm-up: caches and allocator pools fill first
            ask(i)
        start = _rss_mb(server.process.pid)
        began = time.perf_counter()
        for i in range(500):
            ask(i)
        end = _rss_mb(server.process.pid)
    _record("memory_500_questions", {"rss_start_mb": round(start, 1), "rss_end_mb": round(end, 1),
                                     "growth_mb": round(end - start, 1),
                                     "seconds": round(time.perf_counter() - began, 1)})
    assert end - start < 30, f"RSS grew from {start:.0f} MB to {end:.0f} MB over 500 questions"
