#!/usr/bin/env python3
"""bench/measure.py: the measuring half of bench/run (which builds, installs tools and makes the databases first).

Runs profile-cgi, the static C reference (ref-cgi) and the hello-world CGI directly with a phone's CGI
environment, checks that profile-cgi and ref-cgi send the same bytes, then measures per-request time
(hyperfine -N), instructions (callgrind) and peak RSS (/usr/bin/time), and prints the table with the targets of
issue 5. Everything it needs comes on the command line from bench/run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FORMS = ["xml", "gz", "cfg"]


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def phone_env(db, mac, serial, model, form, seen=False, pem=None):
    """What Apache (mod_cgi + mod_ssl with +StdEnvVars) hands the CGI for one phone, without the PEM unless asked."""
    env = {
        "PATH": "/usr/bin:/bin",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "Apache/2.4",
        "SERVER_NAME": "prov.example.com",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "8443",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50412",
        "REQUEST_METHOD": "GET",
        "REQUEST_SCHEME": "https",
        "REQUEST_URI": f"/cgi-bin/profile/{mac}.{form}",
        "SCRIPT_NAME": "/cgi-bin/profile",
        "PATH_INFO": f"/{mac}.{form}",
        "QUERY_STRING": "",
        "HTTPS": "on",
        "HTTP_HOST": "prov.example.com:8443",
        "HTTP_USER_AGENT": f"Cisco-{model}/11.3.7 ({mac})",
        "SSL_PROTOCOL": "TLSv1.3",
        "SSL_CIPHER": "TLS_AES_256_GCM_SHA384",
        "SSL_CLIENT_VERIFY": "SUCCESS",
        "SSL_CLIENT_S_DN_OU": model,
        "SSL_CLIENT_S_DN_L": serial,
        "SSL_CLIENT_S_DN_ST": mac,
        "SSL_CLIENT_I_DN_CN": "Bench Phone CA",
        "SSL_CLIENT_M_SERIAL": "1000",
        "PROVISIONER_DB": db,
    }
    if not seen:
        env["PROVISIONER_RECORD_SEEN"] = "0"
    if pem is not None:
        env["SSL_CLIENT_CERT"] = pem
        env["SSL_CLIENT_S_DN"] = f"ST={mac},L={serial},OU={model}"
    return env


def run_cgi(binary, env):
    p = subprocess.run([binary], env=env, capture_output=True, check=True)
    return p.stdout


def split_cgi(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def decrypt(body, key, digest, tmp):
    path = os.path.join(tmp, "cfg.bin")
    with open(path, "wb") as f:
        f.write(body)
    p = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-md", digest, "-pass", "env:BENCH_KEY", "-in", path],
                       env={"PATH": "/usr/bin:/bin", "BENCH_KEY": key}, capture_output=True, check=True)
    return p.stdout


def verify(args, cases):
    """profile-cgi and ref-cgi must send the same bytes: identical .xml and .gz; .cfg decrypted with openssl."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, (db, mac, serial, model, key, digest, gz) in cases.items():
            for form in FORMS:
                env = phone_env(db, mac, serial, model, form)
                ours = run_cgi(args.profile_cgi, env)
                ref = run_cgi(args.ref_cgi, env)
                oh, ob = split_cgi(ours)
                rh, rb = split_cgi(ref)
                if not ours.startswith(b"Content-Type:") or b"Status:" in oh:
                    problems.append(f"{size} .{form}: profile-cgi did not answer 200: {ours[:200]!r}")
                    continue
                if form in ("xml", "gz"):
                    if ours != ref:
                        problems.append(f"{size} .{form}: profile-cgi and ref-cgi bytes differ "
                                        f"({len(ours)} vs {len(ref)} bytes)")
                else:
                    if oh != rh:
                        problems.append(f"{size} .cfg: headers differ: {oh!r} vs {rh!r}")
                    po = decrypt(ob, key, digest, tmp)
                    pr = decrypt(rb, key, digest, tmp)
                    if gz:
                        po = subprocess.run(["gzip", "-dc"], input=po, capture_output=True, check=True).stdout
                        pr = subprocess.run(["gzip", "-dc"], input=pr, capture_output=True, check=True).stdout
                    xml = split_cgi(run_cgi(args.ref_cgi, phone_env(db, mac, serial, model, "xml")))[1]
                    if po != pr or po != xml:
                        problems.append(f"{size} .cfg: decrypted bodies differ from each other or from the .xml")
            print(f"verify: {size} devices: .xml and .gz identical, .cfg decrypts (openssl enc -d -md {digest}"
                  f"{', gzip -d' if gz else ''}) to the same XML", file=sys.stderr)
    return problems


def hyperfine(commands, env, runs, warmup, tmp):
    out = os.path.join(tmp, "hf.json")
    sh(["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--export-json", out]
       + commands, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return [r["times"] for r in json.load(f)["results"]]


def empty_log(db):
    """Checkpoints and truncates the database's write-ahead log, as the timing rounds found it.

    The CGIs write the `seen` row (the xml+seen rows, and callgrind's run of them) and leave up to 64 frames in the
    log, which the next process reads to rebuild its WAL index. Each instruction count and RSS starts from an
    empty log, so the rows compare like with like."""
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def callgrind(binary, env, tmp):
    out = os.path.join(tmp, "cg.out")
    sh(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary], env=env,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in callgrind output")


def peak_rss(binary, env, tmp, runs=5):
    out = os.path.join(tmp, "rss.txt")
    peaks = []
    for _ in range(runs):
        sh(["/usr/bin/time", "-f", "%M", "-o", out, binary], env=env, stdout=subprocess.DEVNULL,
           stderr=subprocess.DEVNULL)
        with open(out) as f:
            peaks.append(int(f.read().split()[-1]))
    return max(peaks)


def verdict(measured, limit, higher_is_better=False):
    ok = measured >= limit if higher_is_better else measured <= limit
    if ok:
        return "PASS"
    miss = (limit / measured - 1) if higher_is_better else (measured / limit - 1)
    return f"MISS by {miss * 100:.1f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile-cgi", required=True)
    ap.add_argument("--ref-cgi", required=True)
    ap.add_argument("--hello-cgi", required=True)
    ap.add_argument("--db", action="append", required=True, help="SIZE=PATH")
    ap.add_argument("--pem", help="a client certificate for the PEM row")
    ap.add_argument("--runs", type=int, default=20, help="hyperfine runs per command and round")
    ap.add_argument("--rounds", type=int, default=50, help="rounds interleave the cases against load drift")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seen-runs", type=int, default=200, help="runs per program of the xml+seen rows, in rounds of --runs")
    ap.add_argument("--extra", action="append", default=[], help="a markdown file to append (apache, provctl)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--commit", default="?")
    args = ap.parse_args()

    import sqlite3
    cases = {}
    for spec in args.db:
        size, path = spec.split("=", 1)
        size = int(size)
        mac, serial, model = subprocess.run([os.path.join(os.path.dirname(__file__), "make-db"), "--device", str(size)],
                                            capture_output=True, text=True, check=True).stdout.split()
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        key, digest, gz = con.execute("SELECT encryption_key, kdf_digest, gzip FROM devices WHERE mac = ?", (mac,)).fetchone()
        con.close()
        cases[size] = (path, mac, serial, model, key, digest, bool(gz))

    problems = verify(args, cases)
    if problems:
        print("bench: REFUSING to report: profile-cgi and the C reference do not send the same bytes:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)

    started = time.time()
    times = {}   # (program, form, size) -> [seconds]
    instr = {}
    rss = {}
    programs = {"profile-cgi": args.profile_cgi, "ref-cgi": args.ref_cgi}
    sizes = sorted(cases)
    mid = sizes[len(sizes) // 2]
    pem = None
    if args.pem:
        with open(args.pem) as f:
            pem = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            print(f"bench: timing round {rnd + 1}/{args.rounds} ({args.runs} runs per command)", file=sys.stderr)
            for size in sizes:
                db, mac, serial, model = cases[size][:4]
                for form in FORMS:
                    env = phone_env(db, mac, serial, model, form)
                    # Which of the two runs first alternates by round, so neither always follows the other.
                    first, second = (args.profile_cgi, args.ref_cgi) if rnd % 2 == 0 else (args.ref_cgi, args.profile_cgi)
                    res = hyperfine([first, second], env, args.runs, args.warmup, tmp)
                    if rnd % 2 == 1:
                        res = [res[1], res[0]]
                    times.setdefault(("profile-cgi", form, size), []).extend(res[0])
                    times.setdefault(("ref-cgi", form, size), []).extend(res[1])
            db, mac, serial, model = cases[mid][:4]
            env = phone_env(db, mac, serial, model, "xml")
            times.setdefault(("hello-cgi", "-", 0), []).extend(
                hyperfine([args.hello_cgi], env, args.runs, args.warmup, tmp)[0])
            if pem is not None:
                env = phone_env(db, mac, serial, model, "xml", pem=pem)
                times.setdefault(("profile-cgi", "xml+PEM", mid), []).extend(
                    hyperfine([args.profile_cgi], env, args.runs, args.warmup, tmp)[0])
        # The default deployment also records the `seen` row after answering: an SQLite write, and a checkpoint
        # every 64 frames of log. Its own rounds, each from an empty log (the writes would reach the other cases'
        # runs through the log), the two programs alternating which goes first.
        db, mac, serial, model = cases[mid][:4]
        env = phone_env(db, mac, serial, model, "xml", seen=True)
        for block in range(max(1, args.seen_runs // args.runs)):
            empty_log(db)
            first, second = (args.profile_cgi, args.ref_cgi) if block % 2 == 0 else (args.ref_cgi, args.profile_cgi)
            res = hyperfine([first, second], env, args.runs, 2, tmp)
            if block % 2 == 1:
                res = [res[1], res[0]]
            times.setdefault(("profile-cgi", "xml+seen", mid), []).extend(res[0])
            times.setdefault(("ref-cgi", "xml+seen", mid), []).extend(res[1])
        empty_log(db)

        print("bench: instructions (callgrind) and peak RSS (/usr/bin/time)", file=sys.stderr)
        for (program, form, size) in list(times):
            binary = {"profile-cgi": args.profile_cgi, "ref-cgi": args.ref_cgi, "hello-cgi": args.hello_cgi}[program]
            if program == "hello-cgi":
                db, mac, serial, model = cases[mid][:4]
                env = phone_env(db, mac, serial, model, "xml")
            else:
                db, mac, serial, model = cases[size][:4]
                base = form.split("+")[0]
                env = phone_env(db, mac, serial, model, base, seen=form.endswith("seen"),
                                pem=pem if form.endswith("PEM") else None)
            empty_log(env["PROVISIONER_DB"])
            instr[(program, form, size)] = callgrind(binary, env, tmp)
            empty_log(env["PROVISIONER_DB"])
            rss[(program, form, size)] = peak_rss(binary, env, tmp)
    elapsed = time.time() - started

    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    lines = []
    lines.append(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
                 f"({os.cpu_count()} cores, shared), by `{args.command}` at commit {args.commit}. Median of {args.rounds} rounds x "
                 f"{args.runs} runs per case (hyperfine -N, {args.warmup} warm-up runs per round); "
                 f"xml+seen rows {args.seen_runs} runs in rounds of {args.runs}, each from an empty log; xml+PEM in the rounds. Instructions: callgrind total Ir of one request. "
                 f"Peak RSS: max of 5 runs of /usr/bin/time -f %M.")
    lines.append("")
    lines.append("| program | form | devices | median ms | x C ref | instructions (Ir) | x C ref | peak RSS KB |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")

    def row(program, form, size):
        k = (program, form, size)
        ref = ("ref-cgi", form, size)
        tr = f"{med[k] / med[ref]:.2f}" if program == "profile-cgi" and ref in med else ""
        ir = f"{instr[k] / instr[ref]:.2f}" if program == "profile-cgi" and ref in instr else ""
        devices = f"{size:,}" if size else "-"
        lines.append(f"| {program} | {form} | {devices} | {med[k]:.3f} | {tr} | {instr[k]:,} | {ir} | {rss[k]:,} |")

    for form in FORMS:
        for size in sizes:
            row("profile-cgi", form, size)
            row("ref-cgi", form, size)
    for form in ("xml+seen", "xml+PEM"):
        for program in programs:
            if (program, form, mid) in med:
                row(program, form, mid)
    row("hello-cgi", "-", 0)

    lines.append("")
    lines.append("Targets: the verdict is on time (median ms). The same ratio in instructions is beside it: it does not "
                 "move with the load other processes put on the machine, so it shows whether a time verdict is noise.")
    lines.append("")
    lines.append("| target (issue 5 point 3) | measured (time) | same in instructions | limit | result |")
    lines.append("|---|---:|---:|---:|---|")
    for size in sizes:
        r = med[("profile-cgi", "xml", size)] / med[("ref-cgi", "xml", size)]
        i = instr[("profile-cgi", "xml", size)] / instr[("ref-cgi", "xml", size)]
        lines.append(f"| .xml vs static C reference, {size:,} devices | {r:.2f}x | {i:.2f}x | 1.20x | {verdict(r, 1.2)} |")
    for size in sizes:
        r = med[("profile-cgi", "cfg", size)] / med[("profile-cgi", "xml", size)]
        i = instr[("profile-cgi", "cfg", size)] / instr[("profile-cgi", "xml", size)]
        lines.append(f"| .cfg (gzip + AES) vs .xml, {size:,} devices | {r:.2f}x | {i:.2f}x | 1.50x | {verdict(r, 1.5)} |")
    lo, hi = sizes[0], sizes[-1]
    for form in FORMS:
        r = med[("profile-cgi", form, hi)] / med[("profile-cgi", form, lo)]
        i = instr[("profile-cgi", form, hi)] / instr[("profile-cgi", form, lo)]
        lines.append(f"| .{form}: {hi:,} vs {lo:,} devices | {(r - 1) * 100:+.1f}% | {(i - 1) * 100:+.1f}% | +10% | "
                     f"{verdict(r, 1.10)} |")
    peak = max(v for (p, f, s), v in rss.items() if p == "profile-cgi")
    lines.append(f"| peak RSS of profile-cgi (all cases) | {peak / 1024:.1f} MB | | 8 MB | {verdict(peak, 8192)} |")
    extra_targets = []
    extra_text = []
    for path in args.extra:
        if os.path.exists(path):
            with open(path) as f:
                for line in f.read().splitlines():
                    (extra_targets if line.startswith("TARGET|") else extra_text).append(line)
    for t in extra_targets:
        cells = t[len("TARGET|"):].strip().strip("|").split("|")
        # extra rows have no instructions column: measured | limit | result
        lines.append("|" + cells[0] + "|" + cells[1] + "| |" + "|".join(cells[2:]) + "|")
    if extra_text:
        lines.append("")
        lines.extend(extra_text)
    lines.append("")
    lines.append(f"(measuring took {elapsed:.0f} s)")
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
