"""The attacks on the running server: 1-4, 9, 10 and 12."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from .client import Client, Context, pieces_of
from .harness import MB, QUESTION, TIMEOUT, TOKEN, PeakRss, Tally, rss_bytes, say, short


# -- 1. model loading -----------------------------------------------------------------------
def attack_model_loading(t: Tally, ctx: Context) -> None:
    """A client names the packaged GGUF file under six spellings (fails: 200, so the server
    loaded a model file a client chose); RSS over those six grows > 300 MB (fails); the
    errors for /etc/passwd and a missing file differ once the path is replaced by X (fails:
    it tells which files exist); a 5,000-character path gets a 5xx (fails)."""
    found = ctx.product.python("from qa.llms import packaged_smollm2; print(packaged_smollm2())", ctx.env, 120)
    if found.rc != 0:
        raise RuntimeError(f"packaged_smollm2() failed: {short(found.err[-300:])}")
    model = Path(found.out.strip().splitlines()[-1])
    folder, name = model.parent, model.name
    spellings = [f"{folder}/./{name}", f"{folder}//{name}", f"{folder}/././{name}",
                 f"{folder}/../{folder.name}/{name}", f"{folder}///{name}", f"{folder}/.//{name}"]
    before = rss_bytes(ctx.server.pid)
    for path in spellings:
        reply = ctx.client.ask(llm=f"gguf:{path}", timeout=180)
        t.check(reply.status == 200, f"llm=gguf:{path} -> {reply}")
    grown = (rss_bytes(ctx.server.pid) - before) / MB
    t.check(grown > 300, f"RSS grew {grown:.0f} MB over the six gguf requests")

    passwd = ctx.client.ask(llm="gguf:/etc/passwd")
    missing = ctx.client.ask(llm="gguf:/no/such/file.gguf")
    a = (passwd.error() or passwd.body.decode("utf-8", "replace")).replace("/etc/passwd", "X")
    b = (missing.error() or missing.body.decode("utf-8", "replace")).replace("/no/such/file.gguf", "X")
    t.check(a != b or passwd.status != missing.status,
            f"gguf:/etc/passwd -> {passwd.status} {short(a, 100)!r} vs gguf:/no/such/file.gguf -> "
            f"{missing.status} {short(b, 100)!r}")
    long = ctx.client.ask(llm="gguf:/" + "a" * 5000)
    t.check(long.status is None or long.status >= 500, f"llm=gguf:/aaa...(5000) -> {long}")


# -- 2. body limit --------------------------------------------------------------------------
def attack_body_limit(t: Tally, ctx: Context) -> None:
    """(a) 50 MB chunked feedback with a huge comment (fails: 200, or feedback.jsonl grew
    > 1 MB); (b) 100 MB chunked junk to /api/ask (fails: the server's peak RSS rose > 200 MB,
    or an answer that is not 4xx; a hang-up is fine); (c) 50 MB with Content-Length to
    /api/ask (fails unless 413)."""
    log = ctx.home / "feedback.jsonl"
    size = log.stat().st_size if log.exists() else 0
    head = b'{"answer_id": "attack", "question": "q", "answer": "a", "comment": "'
    reply = ctx.client.stream_body("/api/feedback", pieces_of(50 * MB, head=head, tail=b'"}'), chunked=True)
    grown = ((log.stat().st_size if log.exists() else 0) - size) / MB
    t.check(reply.status == 200 or grown > 1,
            f"50 MB chunked feedback -> {reply} [{reply.note}]; feedback.jsonl grew {grown:.1f} MB")

    with PeakRss(ctx.server.pid) as memory:
        reply = ctx.client.stream_body("/api/ask", pieces_of(100 * MB, fill=b"x"), chunked=True)
    bad_status = reply.status is not None and not 400 <= reply.status < 500
    hung = reply.status is None and "refused early" not in reply.note and "answered" not in reply.note
    t.check(memory.rise_mb > 200 or bad_status or hung,
            f"100 MB chunked junk to /api/ask -> {reply} [{reply.note}]; peak RSS +{memory.rise_mb:.0f} MB")

    reply = ctx.client.stream_body("/api/ask", pieces_of(50 * MB, fill=b"x"), chunked=False, length=50 * MB)
    t.check(reply.status != 413, f"50 MB with Content-Length to /api/ask -> {reply} [{reply.note}]")


# -- 3. host header and CORS ----------------------------------------------------------------
def attack_host_and_cors(t: Tally, ctx: Context) -> None:
    """Requests with ``Host: attacker.example`` (and with the port) fail when answered 2xx;
    GET /config and a preflight OPTIONS /api/ask from a foreign Origin fail when any
    access-control-allow-origin header comes back."""
    body = json.dumps({"question": QUESTION}).encode()
    for host in ("attacker.example", f"attacker.example:{ctx.server.port}"):
        for method, path, data in (("GET", "/", None), ("GET", "/healthz", None), ("POST", "/api/ask", body)):
            reply = ctx.client.request(method, path, data, {"Host": host, "Content-Type": "application/json"})
            t.check(reply.status is not None and 200 <= reply.status < 300,
                    f"{method} {path} with Host: {host} -> {reply}")
    for origin in ("http://localhost:1234", "http://evil.example"):
        for method, path, extra in (
                ("GET", "/config", {}),
                ("OPTIONS", "/api/ask", {"Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})):
            reply = ctx.client.request(method, path, None, {"Origin": origin, **extra})
            allowed = reply.headers.get("access-control-allow-origin")
            t.check(allowed is not None,
                    f"{method} {path} with Origin: {origin} -> {reply.status}, "
                    f"access-control-allow-origin: {allowed}")


# -- 4. gradio file routes ------------------------------------------------------------------
def attack_gradio_files(t: Tally, ctx: Context) -> None:
    """Gradio's file, proxy, upload and developer routes: each fails when answered 200 or
    when a canary file's random content comes back. The canaries lie in the server's own
    working folder (``.gradio/cached_examples``) and in its GRADIO_TEMP_DIR."""
    token = secrets.token_hex(16)
    cached = ctx.server.cwd / ".gradio" / "cached_examples" / "canary.txt"
    temp = Path(ctx.env["GRADIO_TEMP_DIR"]) / "canary.txt"
    for canary in (cached, temp):
        canary.parent.mkdir(parents=True, exist_ok=True)
        canary.write_text(token)
    port = ctx.server.port
    gets = []
    for canary in (cached, temp):
        gets += [f"/gradio_api/file/{canary}", f"/gradio_api/file={canary}", f"/file={canary}"]
    gets += ["/gradio_api/file/.gradio/cached_examples/canary.txt",
             f"/gradio_api/proxy=http://127.0.0.1:{port}/healthz",
             f"/gradio_api/file=http://127.0.0.1:{port}/healthz",
             "/gradio_api/custom_component/1/dev/js/x.js", "/monitoring", "/gradio_api/openapi.json",
             "/gradio_api/dev/reload"]
    for path in gets:
        reply = ctx.client.get(path, timeout=15)
        t.check(reply.status == 200 or token.encode() in reply.body, f"GET {path} -> {reply}")
    boundary = "attackboundary7c1"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n"
              f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n").encode()
    reply = ctx.client.request("POST", "/gradio_api/upload", upload,
                               {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    t.check(reply.status == 200, f"POST /gradio_api/upload (multipart) -> {reply}")
    reply = ctx.client.request("POST", "/gradio_api/stream/x/close", b"")
    t.check(reply.status == 200, f"POST /gradio_api/stream/x/close -> {reply}")
    for canary in (cached, temp):
        canary.unlink(missing_ok=True)


# -- 9. gradio malformed calls --------------------------------------------------------------
def attack_gradio_calls(t: Tally, ctx: Context) -> None:
    """Malformed calls to Gradio's API: fail when answered 5xx (or not at all), or not JSON."""
    calls = [("/gradio_api/call/v2/respond", {}),
             ("/gradio_api/queue/join", {"fn_index": 999, "data": [], "session_hash": "x"}),
             ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "x"}),
             ("/gradio_api/run/respond", {"data": [1, 2, 3]})]
    for path, body in calls:
        reply = ctx.client.post_json(path, body)
        is_json = reply.body.strip() != b"" and reply.json() is not None
        t.check(reply.status is None or reply.status >= 500 or not is_json,
                f"POST {path} {json.dumps(body)} -> {reply}")


# -- 10. smaller items ----------------------------------------------------------------------
def attack_smaller_items(t: Tally, ctx: Context) -> None:
    """(a) bytes that are not UTF-8 in the question and (b) 50,000 nested brackets: fail
    when 5xx or the JSON has no "error"; (e) /api/docs fails when it loads anything from a
    CDN. (c) and (d) run on a second server with SOURCEQA_API_TOKEN=t0ken and
    SOURCEQA_FEEDBACK_FILE naming a folder: feedback that cannot be written must be 503;
    GET //evil.example/?token=t0ken fails when redirected to another host."""
    headers = {"Content-Type": "application/json"}
    for label, body in (("question bytes \\xff\\xfe", b'{"question": "\xff\xfe"}'),
                        ("50,000 nested brackets", b"[" * 50000 + b"]" * 50000)):
        reply = ctx.client.request("POST", "/api/ask", body, headers)
        t.check(reply.status is None or reply.status >= 500 or reply.error() is None,
                f"POST /api/ask with {label} -> {reply}")
    docs = ctx.client.get("/api/docs")
    html = docs.body.decode("utf-8", "replace")
    t.check(docs.status != 200 or "cdn." in html or "https://" in html,
            f"GET /api/docs -> {docs.status}; " + short(
                ", ".join(sorted(set(re.findall(r"https?://[^\"' >]+", html)))) or "no absolute URL", 160))

    server = ctx.token_server
    server.start(ready=lambda reply: reply.status in (200, 503))
    try:
        client = Client(server.port, {"Authorization": f"Bearer {TOKEN}"})
        reply = client.post_json("/api/feedback", {"answer_id": "attack", "question": "q", "answer": "a",
                                                   "rating": "down", "comment": "unwritable log"})
        t.check(reply.status != 503, f"POST /api/feedback with the log unwritable -> {reply}")
        reply = Client(server.port).get("//evil.example/?token=" + TOKEN)
        location = reply.headers.get("location", "")
        foreign = (location.replace("\\", "/").startswith("//")
                   or urlsplit(location).hostname == "evil.example")
        t.check(foreign, f"GET //evil.example/?token=... -> {reply.status}, Location: {location!r}")
    finally:
        server.stop()


# -- 12. schemathesis -----------------------------------------------------------------------
def _fuzz(operation, base: str, t: Tally, raised: list[str]) -> int:
    """Run one operation's generated cases; returns how many got an answer."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    label = f"{operation.method.upper()} {operation.path}"
    answered = [0]

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=100, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def attack(case) -> None:
        try:
            response = case.call(base_url=base, timeout=TIMEOUT)
        except Exception as error:  # noqa: BLE001 - keep counting
            raised.append(f"{label}: {type(error).__name__}: {short(error, 100)}")
            return
        answered[0] += 1
        if response.status_code >= 500:
            t.record(True, f"{label} body={short(json.dumps(case.body, default=str), 100)} -> "
                           f"{response.status_code} {short(response.text, 100)}")

    attack()
    return answered[0]


def attack_schemathesis(t: Tally, ctx: Context) -> None:
    """Every operation of /api/openapi.json gets 100 derandomised generated requests: a
    try fails when answered 5xx (a request that raises is noted, and not counted as a try)."""
    import schemathesis

    base = f"http://127.0.0.1:{ctx.server.port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    raised: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        failures = t.failures
        answered = _fuzz(operation, base, t, raised)
        t.tries += answered
        say(f"  {operation.method.upper()} {operation.path}: {answered} cases, {t.failures - failures} 5xx")
    if raised:
        t.notes.append(f"{len(raised)} case(s) raised instead of getting an answer, e.g. {raised[0]}")
