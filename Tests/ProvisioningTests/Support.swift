// Support of the core's tests lives in the shared TestSupport target (processes, folders, phones, refusal table).
@_exported import TestSupport
