import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    func listDevices(_ input: Operations.ListDevices.Input) async throws -> Operations.ListDevices.Output {
        throw APIProblem.notBuilt("listDevices")
    }

    func createDevice(_ input: Operations.CreateDevice.Input) async throws -> Operations.CreateDevice.Output {
        throw APIProblem.notBuilt("createDevice")
    }

    func getDevice(_ input: Operations.GetDevice.Input) async throws -> Operations.GetDevice.Output {
        throw APIProblem.notBuilt("getDevice")
    }

    func updateDevice(_ input: Operations.UpdateDevice.Input) async throws -> Operations.UpdateDevice.Output {
        throw APIProblem.notBuilt("updateDevice")
    }

    func deleteDevice(_ input: Operations.DeleteDevice.Input) async throws -> Operations.DeleteDevice.Output {
        throw APIProblem.notBuilt("deleteDevice")
    }

    func replaceDevice(_ input: Operations.ReplaceDevice.Input) async throws -> Operations.ReplaceDevice.Output {
        throw APIProblem.notBuilt("replaceDevice")
    }

    func getDeviceSettings(_ input: Operations.GetDeviceSettings.Input) async throws -> Operations.GetDeviceSettings.Output {
        throw APIProblem.notBuilt("getDeviceSettings")
    }

    func getDeviceVariables(_ input: Operations.GetDeviceVariables.Input) async throws -> Operations.GetDeviceVariables.Output {
        throw APIProblem.notBuilt("getDeviceVariables")
    }

    func getDeviceProfile(_ input: Operations.GetDeviceProfile.Input) async throws -> Operations.GetDeviceProfile.Output {
        throw APIProblem.notBuilt("getDeviceProfile")
    }

    func listDeviceFetches(_ input: Operations.ListDeviceFetches.Input) async throws -> Operations.ListDeviceFetches.Output {
        throw APIProblem.notBuilt("listDeviceFetches")
    }

    func getDeviceDrift(_ input: Operations.GetDeviceDrift.Input) async throws -> Operations.GetDeviceDrift.Output {
        throw APIProblem.notBuilt("getDeviceDrift")
    }
}
