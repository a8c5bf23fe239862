import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    func listScopeSettings(_ input: Operations.ListScopeSettings.Input) async throws -> Operations.ListScopeSettings.Output {
        throw APIProblem.notBuilt("listScopeSettings")
    }

    func putScopeSetting(_ input: Operations.PutScopeSetting.Input) async throws -> Operations.PutScopeSetting.Output {
        throw APIProblem.notBuilt("putScopeSetting")
    }

    func deleteScopeSetting(_ input: Operations.DeleteScopeSetting.Input) async throws -> Operations.DeleteScopeSetting.Output {
        throw APIProblem.notBuilt("deleteScopeSetting")
    }

    func listScopeVariables(_ input: Operations.ListScopeVariables.Input) async throws -> Operations.ListScopeVariables.Output {
        throw APIProblem.notBuilt("listScopeVariables")
    }

    func putScopeVariable(_ input: Operations.PutScopeVariable.Input) async throws -> Operations.PutScopeVariable.Output {
        throw APIProblem.notBuilt("putScopeVariable")
    }

    func deleteScopeVariable(_ input: Operations.DeleteScopeVariable.Input) async throws -> Operations.DeleteScopeVariable.Output {
        throw APIProblem.notBuilt("deleteScopeVariable")
    }

    func listGroups(_ input: Operations.ListGroups.Input) async throws -> Operations.ListGroups.Output {
        throw APIProblem.notBuilt("listGroups")
    }

    func listModels(_ input: Operations.ListModels.Input) async throws -> Operations.ListModels.Output {
        throw APIProblem.notBuilt("listModels")
    }

    func listCatalogue(_ input: Operations.ListCatalogue.Input) async throws -> Operations.ListCatalogue.Output {
        throw APIProblem.notBuilt("listCatalogue")
    }
}
