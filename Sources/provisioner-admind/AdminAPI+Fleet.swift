import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    func listClaims(_ input: Operations.ListClaims.Input) async throws -> Operations.ListClaims.Output {
        throw APIProblem.notBuilt("listClaims")
    }

    func adoptClaim(_ input: Operations.AdoptClaim.Input) async throws -> Operations.AdoptClaim.Output {
        throw APIProblem.notBuilt("adoptClaim")
    }

    func listPending(_ input: Operations.ListPending.Input) async throws -> Operations.ListPending.Output {
        throw APIProblem.notBuilt("listPending")
    }

    func listHistory(_ input: Operations.ListHistory.Input) async throws -> Operations.ListHistory.Output {
        throw APIProblem.notBuilt("listHistory")
    }

    func getChangeSet(_ input: Operations.GetChangeSet.Input) async throws -> Operations.GetChangeSet.Output {
        throw APIProblem.notBuilt("getChangeSet")
    }

    func revertChangeSet(_ input: Operations.RevertChangeSet.Input) async throws -> Operations.RevertChangeSet.Output {
        throw APIProblem.notBuilt("revertChangeSet")
    }

    func exportDevices(_ input: Operations.ExportDevices.Input) async throws -> Operations.ExportDevices.Output {
        throw APIProblem.notBuilt("exportDevices")
    }

    func downloadBackup(_ input: Operations.DownloadBackup.Input) async throws -> Operations.DownloadBackup.Output {
        throw APIProblem.notBuilt("downloadBackup")
    }

    func checkConfiguration(_ input: Operations.CheckConfiguration.Input) async throws -> Operations.CheckConfiguration.Output {
        throw APIProblem.notBuilt("checkConfiguration")
    }
}
