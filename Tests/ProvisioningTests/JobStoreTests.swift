import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing
import TestSupport

@Suite("jobs.db: one job per kind, cancel, interrupted on restart, progress, idempotency keys")
struct JobStoreTests {
    @Test("a second job of a kind is a conflict until the first ends; other kinds run beside it")
    func onePerKind() throws {
        let folder = try TemporaryDirectory()
        let jobs = JobStore(stateDirectory: folder.path)
        let first = try jobs.create(kind: .resync, startedBy: "alice", targets: ["000e08abcd01", "000e08abcd02"])
        #expect(first.state == .queued && first.total == 2 && first.startedBy == "alice")
        let second = #expect(throws: AdminError.self) { try jobs.create(kind: .resync, startedBy: "bob", targets: []) }
        #expect(second?.cause == .conflict && second?.rule == "one_job_per_kind")
        #expect(try jobs.create(kind: .revert, startedBy: "bob", targets: ["3"]).kind == .revert)
        let claimed = try jobs.claimQueued()
        #expect(Set(claimed.map(\.kind)) == [.resync, .revert] && claimed.allSatisfy { $0.state == .running && $0.startedAt != nil })
        #expect(try jobs.claimQueued().isEmpty, "nothing queued is left")
        try jobs.finish(first.id, .done)
        #expect(try jobs.create(kind: .resync, startedBy: "bob", targets: []).state == .queued)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: jobs.path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    @Test("items count into the progress in order; pages of items and jobs carry their cursor")
    func progressAndPages() throws {
        let folder = try TemporaryDirectory()
        let jobs = JobStore(stateDirectory: folder.path)
        let job = try jobs.create(kind: .resync, startedBy: "alice", targets: ["a", "b", "c", "d"])
        try jobs.record([JobItem(target: "a", outcome: .ok, detail: "200 OK"), JobItem(target: "b", outcome: .refused, detail: "refused")],
                        job: job.id)
        try jobs.record([JobItem(target: "c", outcome: .skipped, detail: "skipped: disabled")], job: job.id)
        let now = try jobs.job(job.id)
        #expect((now.handled, now.ok, now.failed, now.skipped) == (3, 1, 1, 1))
        let page = try jobs.items(of: job.id, after: 0, limit: 2)
        #expect(page.items.map(\.seq) == [1, 2] && page.next == 2)
        #expect(try jobs.items(of: job.id, after: 2, limit: 2).items.map(\.target) == ["c"])
        #expect(try jobs.items(of: job.id, outcome: .refused).items.map(\.target) == ["b"])
        try jobs.finish(job.id, .done)
        _ = try jobs.create(kind: .resync, startedBy: "alice", targets: [])
        let listed = try jobs.jobs(limit: 1)
        #expect(listed.jobs.map(\.id) == [job.id + 1] && listed.next == job.id + 1)
        #expect(try jobs.jobs(after: listed.next, limit: 1).jobs.map(\.id) == [job.id])
    }

    @Test("cancel: a queued job at once, a running one asked; a finished one is a conflict; running jobs become interrupted")
    func cancelAndInterrupt() throws {
        let folder = try TemporaryDirectory()
        let jobs = JobStore(stateDirectory: folder.path)
        let queued = try jobs.create(kind: .import, startedBy: "alice", targets: [], input: Array("mac\n000e08abcd01\n".utf8), total: 1)
        let cancelled = try jobs.cancel(queued.id)
        #expect(cancelled.state == .cancelled && cancelled.cancelRequested && cancelled.finishedAt != nil)
        #expect(try jobs.input(of: queued.id).isEmpty, "the CSV is dropped with the job")
        let finished = #expect(throws: AdminError.self) { try jobs.cancel(queued.id) }
        #expect(finished?.cause == .conflict)
        let running = try jobs.create(kind: .resync, startedBy: "alice", targets: ["x"])
        _ = try jobs.claimQueued()
        #expect(try jobs.cancel(running.id).state == .running)
        #expect(try jobs.cancelRequested(running.id))
        #expect(try jobs.interruptRunning() == [running.id])
        #expect(try jobs.job(running.id).state == .interrupted)
        #expect(throws: AdminError.self) { try jobs.job(named: "nope") }
    }

    @Test("an idempotency key: first, then the kept answer for the same request, reused for another, in flight meanwhile")
    func idempotency() throws {
        let folder = try TemporaryDirectory()
        let jobs = JobStore(stateDirectory: folder.path)
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h1", now: 1000) == .first)
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h1", now: 1001) == .inFlight)
        let answer = IdempotentAnswer(status: 202, headers: ["Location: /api/v1/jobs/1"], body: Array("{}".utf8))
        try jobs.keep(idempotencyKey: "alice\nk1", answer: answer)
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h1", now: 1002) == .replay(answer))
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h2", now: 1003) == .reused)
        // A day later the key is forgotten.
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h2", now: 1000 + JobStore.idempotencySeconds + 1) == .first)
        try jobs.release(idempotencyKey: "alice\nk1")
        #expect(try jobs.claim(idempotencyKey: "alice\nk1", requestHash: "h3", now: 100_000) == .first)
    }
}
