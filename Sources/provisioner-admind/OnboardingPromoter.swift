import Logging
import ProvisioningAdmin
import ServiceLifecycle

/// Makes devices of the phones served on their first contact from an expected entry or an adoption rule
/// (`Onboarding.promote`), every `interval`: the daemon is the admin process that always runs, on the node every
/// serving node's journal is shipped to. Each promotion is written as the user `onboarding`.
struct OnboardingPromoter: Service {
    let store: AdminStore
    let logger: Logger
    var interval: Duration = .seconds(2)

    func run() async throws {
        let caller = Caller(user: "onboarding", role: .admin)
        let stopping = StopFlag()
        await withGracefulShutdownHandler {
            while !stopping.isSet && !Task.isCancelled {
                do {
                    let promoted = try await store.write(caller) { editor, session, _ in
                        try Onboarding.promote(store: editor, session: session).map { "\($0.mac) from \($0.key)" }
                    }
                    for line in promoted { logger.notice("onboarding: \(line)") }
                } catch {
                    logger.error("onboarding: \(error)")
                }
                // In short steps, so that a SIGTERM is not kept waiting for a whole interval.
                var slept = Duration.zero
                while slept < interval && !stopping.isSet && !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    slept += .milliseconds(250)
                }
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }
}
