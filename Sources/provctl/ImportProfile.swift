import ArgumentParser
import CXML2
import Foundation
import Provisioning
import ProvisioningAdmin

struct ImportProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-profile",
        abstract: "Store the parameters of an existing Cisco cfg.xml or flat-profile at a scope, all or nothing.",
        discussion: """
            Reads <flat-profile>...</flat-profile> or <device><flat-profile>...</flat-profile></device> (libxml2; no \
            network, no external entities). Each child element is a parameter: its text, trimmed as the phone \
            trims it, is the value and its ua="na|ro|rw" is kept. Values are checked as `provctl set` checks \
            them; a repeated name keeps the last (as the phone does) with a warning. Nothing is stored unless \
            every parameter passes.
            Example: provctl import-profile spa-template.xml --scope model:CP-8841-3PCC --dry-run
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The XML file.") var file: String
    @Option(help: "default, model:NAME, group:NAME or device:MAC.") var scope: String

    func validate() throws { _ = try parseScope(scope) }

    func run() throws {
        let scope = try parseScope(scope)
        let bytes = try readFile(file)
        let parsed = try FlatProfileFile.parameters(bytes, name: file)
        var settings: [String: Setting] = [:]
        var order: [String] = []
        for parameter in parsed {
            let value = try checkedSetting(name: parameter.name, value: parameter.value, source: "\(file):\(parameter.line)")
            if settings[parameter.name] != nil {
                warn("provctl: warning: \(file):\(parameter.line): \(parameter.name) repeated; the last one is kept")
            } else {
                order.append(parameter.name)
            }
            settings[parameter.name] = Setting(scope: scope, name: parameter.name, value: value, access: parameter.access)
        }
        let opened = try store.open()
        var changed = 0
        try ChangeRunner(store: opened, output: output, dryRun: change.dryRun).run(reach: { try .scope(scope, in: opened) }) { audit in
            for name in order {
                let new = settings[name]!
                let old = try opened.setting(scope: scope, name: name)
                guard old != new else { continue }
                try opened.set(new)
                try audit.record("import-profile", target: "\(scope) \(name)", old: auditValue(old), new: auditValue(new))
                changed += 1
            }
        }
        print("imported \(order.count) parameter(s) at \(scope) from \(file): \(changed) changed")
    }
}

/// A flat-profile document read with libxml2.
enum FlatProfileFile {
    struct Parameter {
        var name: String
        var value: String
        var access: UserAccess?
        var line: Int
    }

    /// The parameters of a `<flat-profile>` (optionally inside `<device>`), in document order.
    static func parameters(_ bytes: [UInt8], name: String) throws -> [Parameter] {
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), name, nil, options)
            }
        }
        guard let document else {
            var message = "not well-formed XML"
            if let error = xmlGetLastError() {
                let text = error.pointee.message.map { String(cString: $0) } ?? ""
                message = "line \(error.pointee.line): " + text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            throw Failure(.refused, "\(name): \(message)")
        }
        defer { xmlFreeDoc(document) }
        guard var root = xmlDocGetRootElement(document) else { throw Failure(.refused, "\(name): no root element") }
        let rootName = String(cString: root.pointee.name)
        if rootName == "device" {
            var child = root.pointee.children
            var found: xmlNodePtr?
            while let node = child {
                if node.pointee.type == XML_ELEMENT_NODE && String(cString: node.pointee.name) == "flat-profile" { found = node; break }
                child = node.pointee.next
            }
            guard let found else { throw Failure(.refused, "\(name): <device> holds no <flat-profile>") }
            root = found
        } else if rootName != "flat-profile" {
            throw Failure(.refused, "\(name): the root element is <\(rootName)>, not <flat-profile> or <device>")
        }
        var parameters: [Parameter] = []
        var child = root.pointee.children
        while let node = child {
            defer { child = node.pointee.next }
            let line = Int(xmlGetLineNo(node))
            switch node.pointee.type {
            case XML_ELEMENT_NODE:
                let element = String(cString: node.pointee.name)
                var inner = node.pointee.children
                while let item = inner {
                    if item.pointee.type == XML_ELEMENT_NODE {
                        throw Failure(.refused, "\(name):\(line): <\(element)> holds an element; parameters hold text only")
                    }
                    inner = item.pointee.next
                }
                var access: UserAccess?
                if let raw = xmlGetProp(node, "ua") {
                    let text = String(cString: raw)
                    xmlFreeText(raw)
                    guard let parsed = UserAccess(rawValue: text) else {
                        throw Failure(.refused, "\(name):\(line): \(element) ua=\"\(text)\": ua is na, ro or rw")
                    }
                    access = parsed
                }
                var value = ""
                if let content = xmlNodeGetContent(node) {
                    value = String(cString: content)
                    xmlFreeText(content)
                }
                parameters.append(Parameter(name: element, value: value.trimmingCharacters(in: .whitespacesAndNewlines),
                                            access: access, line: line))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                var text = ""
                if let content = xmlNodeGetContent(node) {
                    text = String(cString: content)
                    xmlFreeText(content)
                }
                if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    warn("provctl: warning: \(name):\(line): text outside any parameter ignored")
                }
            default:
                break
            }
        }
        return parameters
    }
}

/// Frees a string libxml2 allocated. `xmlFree` is a C global (a function pointer Swift 6 will not read from a
/// nonisolated context); libxml2's default allocator, which provctl never replaces, is malloc.
func xmlFreeText(_ pointer: UnsafeMutablePointer<xmlChar>) {
    free(pointer)
}
