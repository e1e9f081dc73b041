#!/usr/bin/env python3
"""Drive several MCP servers the way a desktop AI client does, and count what fails.

    python3 examples/mcp_client.py --config servers.json [--calls-per-server 15] [--json OUT]
    python3 examples/mcp_client.py --servers 20 --db /tmp/notes.db --mode lockfix \\
        [--lockfix build/lockfix] [--write-config servers.json] ...

The config is an `mcpServers` JSON file, as Claude Desktop and other clients read it:

    {"mcpServers": {"notes-01": {"command": "/usr/local/bin/lockfix",
                                 "args": ["--log", "/tmp/lockfix.log", "--",
                                          "/usr/bin/python3", "examples/notes_server.py",
                                          "--db", "/tmp/notes.db"],
                                 "env": {}}}}

Without --config one is generated for --servers copies of examples/notes_server.py, started as
they are (--mode none), with the in-app textbook fix (--mode textbook), or through the
`lockfix` command (--mode lockfix): the recipe of docs/recipes.md, run for real.

Each server is started as a child process with pipes, initialized (initialize,
notifications/initialized, tools/list), and then every server gets calls at once, one
session per server sending its calls one after another: write_note, edit_note, read_note and
search_notes on a shared set of note titles. Every line a server writes to stdout must be a
JSON-RPC 2.0 response to a request that was sent; anything else is counted as a protocol
error. At the end: failed calls ("database is locked" and others), median and p99 latency
per tool, and checks on the database (integrity, nothing lost).

Standard library only.
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "notes_server.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

TOPICS = [
    "sqlite locking", "write-ahead log", "busy timeout", "mcp servers", "desktop client",
    "fts5 search", "markdown notes", "relations", "observations", "project plan",
    "meeting notes", "reading list", "python asyncio", "transactions", "file sync",
    "backups", "release checklist", "bug triage", "design review", "weekly summary",
    "ideas", "glossary", "onboarding", "benchmarks", "incident log", "architecture",
    "api sketch", "test plan", "open questions", "decisions",
]
TOOL_MIX = [("write_note", 35), ("edit_note", 25), ("read_note", 20), ("search_notes", 20)]
TOOLS = [t for t, _ in TOOL_MIX]
CALL_TIMEOUT_S = 120.0


def title_of(i):
    return TOPICS[i % len(TOPICS)].title()


def note_body(rng, call_id):
    """A note's markdown with observations and links to other notes."""
    lines = ["Written by call %d." % call_id, ""]
    for _ in range(rng.randint(2, 5)):
        lines.append("- [%s] %s" % (rng.choice(["fact", "idea", "todo", "question"]),
                                    rng.choice(TOPICS)))
    for _ in range(rng.randint(1, 3)):
        lines.append("- %s [[%s]]" % (rng.choice(["relates_to", "part_of", "see_also"]),
                                      title_of(rng.randrange(len(TOPICS)))))
    return "\n".join(lines)


# ---- configuration ----------------------------------------------------------------------------


def make_config(n, db, mode, lockfix=None, log=None, work_ms=50, short_timeout_every=0,
                short_timeout_ms=1000):
    """An mcpServers config for n notes servers on one database.

    mode: "none" (as written), "textbook" (the in-app fix) or "lockfix" (the lockfix command in
    front, as docs/recipes.md says). Every `short_timeout_every`-th server sets its own, shorter
    busy timeout, as some real servers do."""
    servers = {}
    for i in range(n):
        args = [SERVER, "--db", db, "--work-ms", str(work_ms)]
        if mode == "textbook":
            args.append("--textbook")
        elif short_timeout_every and i % short_timeout_every == short_timeout_every - 1:
            args += ["--busy-timeout", str(short_timeout_ms)]
        if mode == "lockfix":
            pre = ["--log", log] if log else []
            entry = {"command": lockfix, "args": pre + ["--", PYTHON] + args}
        else:
            entry = {"command": PYTHON, "args": args}
        servers["notes-%02d" % (i + 1)] = entry
    return {"mcpServers": servers}


# ---- one server ---------------------------------------------------------------------------------


class Server:
    """A server process, its pipes, and the requests waiting for their responses."""

    def __init__(self, name, entry, stderr_path):
        self.name = name
        env = dict(os.environ)
        env.update(entry.get("env") or {})
        self.stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen([entry["command"]] + list(entry.get("args") or []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self.next_id = 1
        self.pending = {}  # id -> [event, response]
        self.lock = threading.Lock()
        self.lines = 0
        self.bad_lines = []  # stdout lines that are not JSON-RPC responses to our requests
        self.reader = threading.Thread(target=self.read_loop, daemon=True)
        self.reader.start()

    def read_loop(self):
        for raw in self.proc.stdout:
            self.lines += 1
            msg = None
            try:
                msg = json.loads(raw)
            except ValueError:
                pass
            ok = (isinstance(msg, dict) and msg.get("jsonrpc") == "2.0" and "id" in msg
                  and (("result" in msg) != ("error" in msg)))
            with self.lock:
                waiter = self.pending.pop(msg.get("id"), None) if ok else None
            if waiter is None:
                self.bad_lines.append(raw[:200])
                continue
            waiter[1] = msg
            waiter[0].set()
        with self.lock:  # the server is gone: wake whoever still waits
            for waiter in self.pending.values():
                waiter[0].set()
            self.pending.clear()

    def notify(self, method, params=None):
        self._send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def request(self, method, params=None):
        """Send a request and wait for its response (None if the server died or timed out)."""
        waiter = [threading.Event(), None]
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            self.pending[rid] = waiter
        try:
            self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        except OSError:
            return None
        waiter[0].wait(CALL_TIMEOUT_S)
        return waiter[1]

    def _send(self, msg):
        data = (json.dumps(msg) + "\n").encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.stderr.close()


def start(config, workdir):
    servers = []
    for name, entry in config["mcpServers"].items():
        servers.append(Server(name, entry, os.path.join(workdir, name + ".stderr")))
    # The handshake, all servers at once (each creates its tables at start).
    problems = []

    def handshake(s):
        r = s.request("initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                     "clientInfo": {"name": "lockfix-mcp-client", "version": "1"}})
        if not r or "result" not in r:
            problems.append("%s: initialize failed: %s" % (s.name, r and r.get("error")))
            return
        s.notify("notifications/initialized")
        r = s.request("tools/list")
        names = {t["name"] for t in (r or {}).get("result", {}).get("tools", [])}
        if not set(TOOLS) <= names:
            problems.append("%s: tools/list lacks %s" % (s.name, set(TOOLS) - names))

    threads = [threading.Thread(target=handshake, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return servers, problems


# ---- the burst ----------------------------------------------------------------------------------


def plan_calls(n_servers, per_server, seed):
    """For each server, its list of (tool, arguments), the same for every mode."""
    rng = random.Random(seed)
    weights = [w for _, w in TOOL_MIX]
    plans, call_id = [], 0
    for _ in range(n_servers):
        plan = []
        for _ in range(per_server):
            call_id += 1
            tool = rng.choices(TOOLS, weights)[0]
            title = title_of(rng.randrange(len(TOPICS)))
            if tool == "write_note":
                args = {"title": title, "content": note_body(rng, call_id)}
            elif tool == "edit_note":
                args = {"title": title, "append": "- [update] call %d" % call_id}
            elif tool == "read_note":
                args = {"title": title}
            else:
                args = {"query": rng.choice(TOPICS)}
            plan.append((tool, args))
        plans.append(plan)
    return plans


def run_burst(servers, plans):
    """Every server's session sends its calls, all at once. Returns per-call records."""
    records = []  # (tool, seconds, outcome) with outcome "ok", "locked" or an error message
    rlock = threading.Lock()
    go = threading.Barrier(len(servers) + 1)

    def session(server, plan):
        go.wait()
        mine = []
        for tool, args in plan:
            t0 = time.monotonic()
            r = server.request("tools/call", {"name": tool, "arguments": args})
            dt = time.monotonic() - t0
            if r is None:
                outcome = "no response (server died or hung)"
            elif "error" in r:
                msg = str(r["error"].get("message"))
                outcome = "locked" if "database is locked" in msg else msg
            else:
                outcome = "ok"
            mine.append((tool, dt, outcome))
        with rlock:
            records.extend(mine)

    threads = [threading.Thread(target=session, args=(s, p)) for s, p in zip(servers, plans)]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    return records, time.monotonic() - t0


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def summarize(records, seconds):
    out = {"calls": len(records), "seconds": round(seconds, 3),
           "calls_per_s": round(len(records) / seconds, 1) if seconds > 0 else 0.0,
           "failed": 0, "locked": 0, "other_errors": {}, "tools": {}}
    for tool in TOOLS:
        mine = [r for r in records if r[0] == tool]
        lat = [r[1] * 1000 for r in mine]
        locked = sum(1 for r in mine if r[2] == "locked")
        failed = sum(1 for r in mine if r[2] != "ok")
        out["tools"][tool] = {"calls": len(mine), "failed": failed, "locked": locked,
                              "median_ms": round(percentile(lat, 50), 1),
                              "p99_ms": round(percentile(lat, 99), 1)}
        out["failed"] += failed
        out["locked"] += locked
    for r in records:
        if r[2] not in ("ok", "locked"):
            out["other_errors"][r[2]] = out["other_errors"].get(r[2], 0) + 1
    ok_writes = sum(1 for r in records if r[0] in ("write_note", "edit_note") and r[2] == "ok")
    out["ok_writes"] = ok_writes
    return out


def seed_notes(server):
    """Create every note once, before the burst, so edits and reads find them."""
    for i in range(len(TOPICS)):
        r = server.request("tools/call", {"name": "write_note", "arguments": {
            "title": title_of(i), "content": "Seed note.\n- [fact] %s" % TOPICS[i]}})
        if not r or "result" not in r:
            raise SystemExit("seeding failed: %s" % (r and r.get("error")))
    return len(TOPICS)


def check_database(db, expected_versions):
    """Integrity, the search index complete, and no lost write: every successful write_note
    and edit_note added 1 to its note's version."""
    c = sqlite3.connect(db, timeout=30)
    integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
    notes = c.execute("SELECT count(*) FROM notes").fetchone()[0]
    indexed = c.execute("SELECT count(*) FROM search_index").fetchone()[0]
    versions = c.execute("SELECT coalesce(sum(version), 0) FROM notes").fetchone()[0]
    c.close()
    return {"integrity": integrity, "notes": notes, "indexed": indexed,
            "versions": versions, "versions_expected": expected_versions,
            "ok": integrity == "ok" and indexed == notes and versions == expected_versions}


def run(config, workdir, per_server, seed=1, db=None):
    """Start the servers, seed, burst, stop, check. Returns the summary dict."""
    servers, problems = start(config, workdir)
    result = {"servers": len(servers), "start_problems": problems}
    try:
        if problems:
            return result
        seeded = seed_notes(servers[0])
        plans = plan_calls(len(servers), per_server, seed)
        records, seconds = run_burst(servers, plans)
        result.update(summarize(records, seconds))
    finally:
        for s in servers:
            s.close()
    result["stdout_lines"] = sum(s.lines for s in servers)
    result["non_jsonrpc_lines"] = sum(len(s.bad_lines) for s in servers)
    result["non_jsonrpc_examples"] = [l.decode("utf-8", "replace")
                                      for s in servers for l in s.bad_lines][:5]
    result["exit_codes"] = sorted({s.proc.returncode for s in servers})
    if db:
        result["database"] = check_database(db, seeded + result["ok_writes"])
    return result


def print_report(label, r, out=sys.stdout):
    if r.get("start_problems"):
        print("  %s: servers did not start: %s" % (label, "; ".join(r["start_problems"][:3])),
              file=out)
        return
    print("  %s: %d calls in %.1f s (%.0f calls/s), failed %d (\"database is locked\": %d)"
          % (label, r["calls"], r["seconds"], r["calls_per_s"], r["failed"], r["locked"]),
          file=out)
    for tool, t in r["tools"].items():
        print("    %-13s %4d calls  %3d failed   median %7.1f ms   p99 %7.1f ms"
              % (tool, t["calls"], t["failed"], t["median_ms"], t["p99_ms"]), file=out)
    for msg, n in r["other_errors"].items():
        print("    other error x%d: %s" % (n, msg), file=out)
    print("    stdout: %d lines, %d not JSON-RPC%s" % (
        r["stdout_lines"], r["non_jsonrpc_lines"],
        "" if not r["non_jsonrpc_lines"] else " e.g. %r" % r["non_jsonrpc_examples"][0]),
        file=out)
    d = r.get("database")
    if d:
        print("    database: integrity %s, %d notes, %d indexed, versions %d of %d expected%s"
              % (d["integrity"], d["notes"], d["indexed"], d["versions"],
                 d["versions_expected"], "" if d["ok"] else "  <-- MISMATCH"), file=out)


def main():
    ap = argparse.ArgumentParser(description="Drive MCP notes servers as a desktop client does.")
    ap.add_argument("--config", help="an mcpServers JSON file (else one is generated)")
    ap.add_argument("--servers", type=int, default=20)
    ap.add_argument("--db", help="the database (generated config; also checked at the end)")
    ap.add_argument("--mode", choices=["none", "textbook", "lockfix"], default="none")
    ap.add_argument("--lockfix", default=os.path.join(HERE, "..", "build", "lockfix"),
                    help="the lockfix command (default: build/lockfix)")
    ap.add_argument("--log", help="lockfix's log file (--mode lockfix)")
    ap.add_argument("--work-ms", type=float, default=50)
    ap.add_argument("--short-timeout-every", type=int, default=4,
                    help="every Nth server sets a shorter busy timeout of its own (0: none)")
    ap.add_argument("--short-timeout-ms", type=int, default=1000,
                    help="that shorter busy timeout (default 1000)")
    ap.add_argument("--calls-per-server", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", help="where servers' stderr go (default: beside the db)")
    ap.add_argument("--write-config", help="save the generated config here")
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--label", default=None)
    a = ap.parse_args()
    if a.config:
        with open(a.config) as f:
            config = json.load(f)
    else:
        if not a.db:
            ap.error("--db is needed to generate a config")
        config = make_config(a.servers, os.path.abspath(a.db), a.mode,
                             os.path.abspath(a.lockfix), a.log and os.path.abspath(a.log),
                             a.work_ms, a.short_timeout_every, a.short_timeout_ms)
        if a.write_config:
            with open(a.write_config, "w") as f:
                json.dump(config, f, indent=2)
    workdir = a.workdir or os.path.dirname(os.path.abspath(a.db or a.config))
    r = run(config, workdir, a.calls_per_server, a.seed, a.db)
    print_report(a.label or a.mode, r)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=2)
    bad = r.get("start_problems") or r["non_jsonrpc_lines"] or (
        r.get("database") and not r["database"]["ok"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
