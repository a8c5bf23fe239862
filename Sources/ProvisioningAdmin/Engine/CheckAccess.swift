import Foundation
import Provisioning

/// What a user (the web server's, www-data on Debian) may do with a file, from its mode, owner and group and
/// the user's groups: the kernel's rule for a process without capabilities.
struct WebUser {
    let name: String
    let uid: uid_t
    let groups: Set<gid_t>

    init?(name: String) {
        guard let entry = getpwnam(name) else { return nil }
        self.name = name
        uid = entry.pointee.pw_uid
        let primary = entry.pointee.pw_gid
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: 64)
        if getgrouplist(name, primary, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, primary, &list, &count)
        }
        groups = Set(list.prefix(Int(max(0, count)))).union([primary])
    }

    /// Whether the user may `want` (a mask of 4 read, 2 write, 1 search/execute) the file; nil when it is missing.
    func may(_ want: mode_t, _ path: String) -> Bool? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if uid == 0 { return true }
        let bits: mode_t
        if info.st_uid == uid { bits = (info.st_mode >> 6) & 7 } else if groups.contains(info.st_gid) { bits = (info.st_mode >> 3) & 7 } else { bits = info.st_mode & 7 }
        return bits & want == want
    }

    /// The first folder above `path` the user cannot search, if any.
    func blockedFolder(above path: String) -> String? {
        // A relative path (`--db s.db`) is walked from the working directory: the directory of "s.db" is ".",
        // whose directory is "." again, and the walk never reached "/" (it grew its chain until allocation
        // failed, issue 21).
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var folder = FilePath.directory(of: absolute)
        var chain: [String] = []
        while true {
            chain.append(folder)
            let parent = FilePath.directory(of: folder)
            if folder == "/" || folder.isEmpty || parent == folder { break }
            folder = parent
        }
        for folder in chain.reversed() where may(1, folder) == false { return folder }
        return nil
    }
}

/// One thing the web server's user cannot do, with the command that fixes it.
struct AccessFinding {
    var path: String
    var problem: String
    var fix: String
}

/// What profile-cgi, running as `user`, needs: read the configuration database, and read and write the journal
/// and the folder it lives in (SQLite makes -wal and -shm files beside each).
func accessFindings(user: WebUser, database: String, journal: String) -> [AccessFinding] {
    var findings: [AccessFinding] = []
    let group = getgrgid(getpwnam(user.name)?.pointee.pw_gid ?? 0).map { String(cString: $0.pointee.gr_name) } ?? user.name
    func quoted(_ path: String) -> String { path.contains(" ") ? "'\(path)'" : path }
    for path in [database, journal] {
        if let blocked = user.blockedFolder(above: path) {
            findings.append(AccessFinding(path: blocked, problem: "\(user.name) cannot enter this folder (no search permission)",
                                          fix: "chmod o+x \(quoted(blocked))"))
        }
    }
    let databaseFolder = FilePath.directory(of: database)
    if user.may(4, database) == false {
        findings.append(AccessFinding(path: database, problem: "\(user.name) cannot read the configuration database",
                                      fix: "chgrp \(group) \(quoted(database)) && chmod g+r \(quoted(database))"))
    }
    for suffix in ["-wal", "-shm"] where user.may(4, database + suffix) == false {
        findings.append(AccessFinding(path: database + suffix, problem: "\(user.name) cannot read it (readers need the log and its index)",
                                      fix: "chgrp \(group) \(quoted(database + suffix)) && chmod g+rw \(quoted(database + suffix))"))
    }
    let journalFolder = FilePath.directory(of: journal)
    for folder in Set([databaseFolder, journalFolder]).sorted() where user.may(7, folder) == false {
        findings.append(AccessFinding(path: folder, problem: "\(user.name) cannot create files here (the journal and SQLite's -wal/-shm files)",
                                      fix: "chgrp \(group) \(quoted(folder)) && chmod 2770 \(quoted(folder))"))
    }
    for path in [journal, journal + "-wal", journal + "-shm"] where user.may(6, path) == false {
        findings.append(AccessFinding(path: path, problem: "\(user.name) cannot write the journal: fetches, seen and claims are lost",
                                      fix: "chown \(user.name):\(group) \(quoted(path)) && chmod 0660 \(quoted(path))"))
    }
    // Too open: the configuration (keys, passwords) readable by everyone or writable by the web server (a
    // compromised CGI would rewrite every phone's profile).
    for path in [database, database + "-wal"] {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o004 != 0 else { continue }
        findings.append(AccessFinding(path: path, problem: "everyone on this machine can read the configuration (keys and passwords)",
                                      fix: "chmod o-rwx \(quoted(path))"))
    }
    if user.uid != 0, user.may(2, database) == true {
        findings.append(AccessFinding(path: database, problem: "\(user.name) can write the configuration database: profile-cgi only reads it, and a compromised web server would rewrite every phone's profile",
                                      fix: "chown root:\(group) \(quoted(database)) && chmod 0640 \(quoted(database))"))
    }
    return findings
}

/// True when something is at `path`.
func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
