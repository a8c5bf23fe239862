import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    func startRevertJob(_ input: Operations.StartRevertJob.Input) async throws -> Operations.StartRevertJob.Output {
        throw APIProblem.notBuilt("startRevertJob")
    }

    func startResync(_ input: Operations.StartResync.Input) async throws -> Operations.StartResync.Output {
        throw APIProblem.notBuilt("startResync")
    }

    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        throw APIProblem.notBuilt("listJobs")
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        throw APIProblem.notBuilt("getJob")
    }

    func listJobItems(_ input: Operations.ListJobItems.Input) async throws -> Operations.ListJobItems.Output {
        throw APIProblem.notBuilt("listJobItems")
    }

    func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        throw APIProblem.notBuilt("cancelJob")
    }
}
