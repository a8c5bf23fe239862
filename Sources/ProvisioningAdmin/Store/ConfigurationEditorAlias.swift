public import Provisioning

/// The admin's connection to the configuration database (for now the same class as the core's read-only store;
/// the next step gives it a type of its own).
public typealias ConfigurationEditor = ConfigurationStore
