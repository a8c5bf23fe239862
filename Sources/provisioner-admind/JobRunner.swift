import Foundation
import Logging
import NIOPosix
import ProvisioningAdmin
import ServiceLifecycle

/// The daemon's job runner, a service of the application: when it starts it marks the jobs a previous run left
/// `running` as `interrupted` (their items so far keep their outcomes; nothing is resumed, so an import or a push
/// never runs twice unasked), then it polls `jobs.db` for queued jobs -- those the API queued and those
/// `provctl resync --job` queued -- and runs the oldest of each kind that has none running, each on a thread of
/// its own. On SIGTERM it asks the running jobs to stop after their current step (they end `interrupted`) and
/// waits for them.
struct JobRunner: Service {
    let worker: JobWorker
    let logger: Logger
    /// How often `jobs.db` is looked at for queued jobs.
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        let jobs = worker.jobs
        let interrupted = try await NIOThreadPool.singleton.runIfActive { try jobs.interruptRunning() }
        if !interrupted.isEmpty {
            logger.notice("jobs \(interrupted.map(String.init).joined(separator: ", ")) were running when the daemon stopped: interrupted")
        }
        let stopping = StopFlag()
        await withTaskGroup(of: Void.self) { group in
            await withGracefulShutdownHandler {
                while !stopping.isSet {
                    do {
                        let claimed = try await NIOThreadPool.singleton.runIfActive { try jobs.claimQueued() }
                        for job in claimed {
                            logger.notice("job \(job.id) (\(job.kind.rawValue)) started by \(job.startedBy): running")
                            let worker = worker
                            group.addTask {
                                // A thread of its own: a paced push sleeps, and must not hold one of the pool's.
                                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                                    Thread.detachNewThread {
                                        worker.run(job) { stopping.isSet }
                                        done.resume()
                                    }
                                }
                            }
                        }
                    } catch {
                        logger.error("jobs: \(error)")
                    }
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { stopping.set() }
                }
            } onGracefulShutdown: {
                stopping.set()
            }
            await group.waitForAll()
        }
    }
}

/// Set once, read from any thread.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
