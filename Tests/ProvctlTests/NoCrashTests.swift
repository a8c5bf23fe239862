import Foundation
import Testing

/// Issue 21, point 6: no command crashes. Every subcommand with relative, absolute, symlinked, missing and
/// unwritable database paths, and with odd arguments (empty, very long, non-UTF-8, a leading `-`), ends with one
/// of provctl's documented statuses: no abort, trap, stack trace or hang (20 s). One bash loop runs provctl
/// directly (non-UTF-8 bytes cannot pass through Foundation's Process): 14 runs per subcommand by default (about
/// a minute on 2 busy cores); the long form, PROVISIONER_NOCRASH_FULL=1, runs 27 per subcommand (two minutes).
@Suite("no command crashes, whatever the database path or the arguments")
struct NoCrashTests {
    static let subcommands = [
        "init", "device add", "device list", "device show", "device edit", "device remove", "device restore",
        "device replace", "device enable", "device disable", "set", "unset", "var", "unvar", "settings", "variables",
        "explain", "render", "check", "claims", "adopt", "import", "export", "import-profile", "history", "revert",
        "groups", "models", "backup", "restore", "completions", "fetches", "pending", "resync", "drift", "syslog",
        "retention", "prune",
        // The grouped spellings (issue 23) beside the flat ones above.
        "setting set", "setting list", "setting import", "variable set", "variable unset", "device import",
        "device export", "loop pending", "loop fetches",
    ]

    @Test("every subcommand × database path × odd argument: a documented exit status, no crash")
    func matrix() throws {
        let box = try Sandbox()
        try box.ok("device", "add", "000e08abcdef")
        // The database by a relative path (the 34 GB allocation of issue 21), a symlink, a missing file, and a
        // file the user `nobody` may read but not write (the run as nobody below).
        try FileManager.default.createSymbolicLink(atPath: box.path("link.db"), withDestinationPath: box.db)
        chmod(box.folder.path, 0o755)
        chmod(box.db, 0o644)
        let script = """
            set -u
            provctl=$1; folder=$2
            cd "$folder"
            long=$(head -c 10000 /dev/zero | tr '\\0' x)
            bad=$(printf 'caf\\351\\377')
            crashes=0; runs=0
            if [ "${PROVISIONER_NOCRASH_FULL:-0}" = 1 ]; then
                extras=("" --json); odds=("" "$long" "$bad" "-" "-x" "--" "--json=" "000e08abcdef$bad")
            else
                extras=(--json); odds=("" "$long" "$bad" "-x")
            fi
            check() {  # status, stderr file, description
                runs=$((runs + 1))
                if [ "$1" -ge 128 ] || [ "$1" -eq 124 ] || grep -qiE 'fatal error|stack dump|current stack trace|backtrace|Illegal instruction|Segmentation' "$2"; then
                    crashes=$((crashes + 1)); echo "CRASH ($1): $3"; head -c 400 "$2"; echo
                fi
            }
            for sub in \(Self.subcommands.map { "\"\($0)\"" }.joined(separator: " ")); do
                for db in provisioner.db "$folder/provisioner.db" link.db missing/nowhere.db "$folder/missing.db"; do
                    for extra in "${extras[@]}"; do
                        timeout 20 "$provctl" --db "$db" $sub $extra </dev/null >/dev/null 2>err.txt; check $? err.txt "--db $db $sub $extra"
                    done
                done
                for odd in "${odds[@]}"; do
                    timeout 20 "$provctl" --db provisioner.db $sub "$odd" </dev/null >/dev/null 2>err.txt; check $? err.txt "$sub <odd ${#odd}>"
                    timeout 20 "$provctl" --db "$odd" $sub </dev/null >/dev/null 2>err.txt; check $? err.txt "--db <odd ${#odd}> $sub"
                done
                # Unwritable: as nobody, the database readable but not writable.
                timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups "$provctl" --db "$folder/provisioner.db" $sub --json \\
                    </dev/null >/dev/null 2>err.txt; check $? err.txt "as nobody: $sub"
            done
            echo "runs=$runs crashes=$crashes"
            """
        let file = box.path("matrix.sh")
        try Data(script.utf8).write(to: URL(fileURLWithPath: file))
        let outcome = try run("/bin/bash", [file, provctlBinary, box.folder.path], in: box.folder.path, timeout: 900)
        #expect(outcome.text.contains("crashes=0"), "\(outcome.text)\(outcome.stderr)")
        let full = ProcessInfo.processInfo.environment["PROVISIONER_NOCRASH_FULL"] == "1"
        #expect(outcome.text.contains("runs=\(Self.subcommands.count * (full ? 27 : 14))"), "\(outcome.text)")
    }

    @Test("permission denied is named as such, with the command that checks it")
    func permissionDenied() throws {
        let box = try Sandbox()
        chmod(box.folder.path, 0o700)
        func asNobody(_ arguments: [String]) throws -> ProcessOutcome {
            try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", provctlBinary, "--db", box.db] + arguments,
                    in: "/")
        }
        let blocked = try asNobody(["device", "list"])
        #expect(blocked.status == 1 && blocked.stderr.contains("permission denied: a folder above it cannot be entered")
                && blocked.stderr.contains("provctl check --permissions-only") && !blocked.stderr.contains("no file at"), "\(blocked)")
        chmod(box.folder.path, 0o755)
        chmod(box.db, 0o600)
        let unreadable = try asNobody(["device", "list", "--json"])
        #expect(unreadable.status == 1 && unreadable.text.contains("permission denied: this user cannot read it"), "\(unreadable)")
        chmod(box.db, 0o644)
        let unwritable = try asNobody(["set", "default", "Resync_Periodic=600"])
        #expect(unwritable.status == 1 && unwritable.stderr.contains("permission denied"), "\(unwritable)")
    }
}
