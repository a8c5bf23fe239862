import CXML2
import Foundation
public import Provisioning

/// The parameters of a profile file checked the lenient way (`ParameterRules.check(lenient:)`): what to store,
/// the warnings, and the problems that refuse the file; each names the file and line.
public struct ImportedProfile {
    public var settings: [Setting] = []
    public var warnings: [String] = []
    public var problems: [String] = []
    /// How many names the catalogue does not know, for the summary.
    public var unknownNames = 0
    /// The file's name, as the warnings and problems give it.
    public var file: String

    public init(_ document: FlatProfileFile.Document, file: String, scope: Scope) {
        self.file = file
        warnings = document.warnings
        var index: [String: Int] = [:]
        var firstLine: [String: Int] = [:]
        for parameter in document.parameters {
            let location = "\(file):\(parameter.line)"
            let checked: CheckedValue
            do {
                checked = try ParameterRules.check(name: parameter.name, value: parameter.value, lenient: true)
            } catch {
                problems.append("\(location): \(error)")
                continue
            }
            if !ParameterCatalogue.isKnown(parameter.name) { unknownNames += 1 }
            warnings += checked.warnings.map { "\(location): \($0)" }
            var access: UserAccess?
            if let ua = parameter.ua {
                if let exact = UserAccess(rawValue: ua) {
                    access = exact
                } else if let folded = UserAccess(rawValue: ua.lowercased()) {
                    access = folded
                    warnings.append("\(location): \(parameter.name) ua=\"\(ua)\": ua is na, ro or rw; stored as \(folded.rawValue)")
                } else {
                    warnings.append("\(location): \(parameter.name) ua=\"\(ua)\": ua is na, ro or rw; stored without ua")
                }
            }
            let setting = Setting(scope: scope, name: parameter.name, value: checked.value, access: access,
                                  intent: parameter.emptyElement ? .keep : .empty)
            if let at = index[parameter.name] {
                warnings.append("\(location): \(parameter.name) repeated (first on line \(firstLine[parameter.name]!)); "
                                + "the last one is kept, as the phone keeps it")
                settings[at] = setting
            } else {
                index[parameter.name] = settings.count
                firstLine[parameter.name] = parameter.line
                settings.append(setting)
            }
        }
    }
}

/// A flat-profile document read with libxml2.
public enum FlatProfileFile {
    public struct Parameter {
        /// The element name, or the path of a leaf inside blocks (`router-configuration/Time_Setup/Time_Zone`).
        var name: String
        var value: String
        /// The `ua` attribute as written, if any.
        var ua: String?
        var line: Int
        /// Written `<X/>` (leave the phone's value), not `<X></X>` (set it empty).
        var emptyElement = false
        /// The element's place in document order (`numberElements`), to match it with the reader's view.
        var order: Int?
    }

    public struct Document {
        public var parameters: [Parameter] = []
        /// What was read but is no parameter: text between elements, attributes other than `ua`.
        public var warnings: [String] = []
    }

    /// The errors libxml2 reports while it parses, each with its line.
    final class ErrorLog {
        var lines: [String] = []
    }

    /// The parameters of a `<flat-profile>` (optionally inside `<device>`), in document order. XML that does not
    /// parse is refused with every error libxml2 finds (it reads on past the first to list them).
    public static func read(_ original: [UInt8], name: String) throws -> Document {
        let (bytes, leniencies) = tolerated(original, name: name)
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)
        let log = ErrorLog()
        let context = Unmanaged.passUnretained(log).toOpaque()
        xmlSetStructuredErrorFunc(context) { context, error in
            guard let context, let error else { return }
            let log = Unmanaged<FlatProfileFile.ErrorLog>.fromOpaque(context).takeUnretainedValue()
            let text = error.pointee.message.map { String(cString: $0) } ?? "error"
            log.lines.append("line \(error.pointee.line): " + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        func parse(_ options: Int32) -> xmlDocPtr? {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), name, nil, options)
                }
            }
        }
        guard !bytes.isEmpty, let document = parse(options) else {
            // Read again in recovery mode, only to list every error, not just the first.
            log.lines.removeAll()
            if !bytes.isEmpty, let recovered = parse(options | Int32(XML_PARSE_RECOVER.rawValue)) { xmlFreeDoc(recovered) }
            let errors = log.lines.isEmpty ? ["empty or not XML"] : Array(log.lines.prefix(50))
            throw AdminError(.refused, "refused: \(name): not well-formed XML; nothing written:\n"
                          + errors.map { "  \(name): \($0)" }.joined(separator: "\n")
                          + (log.lines.count > 50 ? "\n  ... \(log.lines.count - 50) more" : ""))
        }
        defer { xmlFreeDoc(document) }
        guard var root = xmlDocGetRootElement(document) else { throw AdminError(.refused, "refused: \(name): no root element") }
        let rootName = String(cString: root.pointee.name)
        if rootName == "device" {
            var child = root.pointee.children
            var found: xmlNodePtr?
            while let node = child {
                if node.pointee.type == XML_ELEMENT_NODE && String(cString: node.pointee.name) == "flat-profile" { found = node; break }
                child = node.pointee.next
            }
            guard let found else { throw AdminError(.refused, "refused: \(name): <device> holds no <flat-profile>") }
            root = found
        } else if rootName != "flat-profile" {
            throw AdminError(.refused, "refused: \(name): the root element is <\(rootName)>, not <flat-profile> or <device>")
        }
        var result = Document()
        result.warnings = leniencies
        let emptyForms = emptyElementForms(bytes, name: name, options: options)
        var order: [xmlNodePtr: Int] = [:]
        numberElements(xmlDocGetRootElement(document), into: &order)
        var otherAttributes: [String: Int] = [:]
        var firstAttributeLine = 0
        walk(root, path: "", file: name, into: &result, otherAttributes: &otherAttributes, firstAttributeLine: &firstAttributeLine,
             order: order)
        // The reader and the tree see the same elements; should they ever disagree, no form is guessed (every
        // empty element is taken as `<X></X>`, set empty) and the file says so.
        if emptyForms.count != order.count {
            result.warnings.append("\(name):1: could not tell <X/> from <X></X>; every empty element is imported as empty")
        }
        for index in result.parameters.indices where emptyForms.count == order.count {
            if let position = result.parameters[index].order, position < emptyForms.count {
                result.parameters[index].emptyElement = emptyForms[position]
            }
        }
        if !otherAttributes.isEmpty {
            let names = otherAttributes.keys.sorted().map { "\($0) (\(otherAttributes[$0]!))" }.joined(separator: ", ")
            result.warnings.append("\(name):\(firstAttributeLine): attributes other than ua are not kept (phones read ua only): \(names)")
        }
        return result
    }

    /// The element children of `node`, and any text beside them.
    static func walk(_ node: xmlNodePtr, path: String, file: String, into document: inout Document,
                     otherAttributes: inout [String: Int], firstAttributeLine: inout Int, order: [xmlNodePtr: Int]? = nil) {
        var elements: [xmlNodePtr] = []
        var child = node.pointee.children
        while let item = child {
            defer { child = item.pointee.next }
            switch item.pointee.type {
            case XML_ELEMENT_NODE:
                elements.append(item)
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                let content = text(of: item)
                if !trimmed(content).isEmpty {
                    // libxml2 gives a text node the line where it ends: count back over the line breaks after it.
                    var line = Int(xmlGetLineNo(item))
                    for byte in content.utf8.reversed() {
                        if byte == 0x0a { line -= 1 } else if byte != 0x20 && byte != 0x09 && byte != 0x0d { break }
                    }
                    let container = path.isEmpty ? "" : " in <\(path)>"
                    document.warnings.append("\(file):\(line): text outside any parameter\(container) ignored")
                }
            default:
                break
            }
        }
        // Inside a block, repeated names are kept apart, in order: Rule[1], Rule[2], ... (at the top level the
        // phone keeps the last of a repeated name, and so does the importer).
        var counts: [String: Int] = [:]
        if !path.isEmpty {
            for element in elements { counts[qualifiedName(element), default: 0] += 1 }
        }
        var seen: [String: Int] = [:]
        for element in elements {
            let elementName = qualifiedName(element)
            let line = Int(xmlGetLineNo(element))
            var segment = elementName
            if let count = counts[elementName], count > 1 {
                let number = (seen[elementName] ?? 0) + 1
                seen[elementName] = number
                let digits = String(number), width = String(count).count
                segment += "[" + String(repeating: "0", count: max(0, width - digits.count)) + digits + "]"
            }
            let fullName = path.isEmpty ? segment : path + "/" + segment
            var ua: String?
            var attribute = element.pointee.properties
            while let property = attribute {
                let attributeName = String(cString: property.pointee.name)
                if attributeName == "ua", let raw = xmlGetProp(element, "ua") {
                    ua = String(cString: raw)
                    xmlFreeText(raw)
                } else {
                    if otherAttributes.isEmpty { firstAttributeLine = line }
                    otherAttributes[attributeName, default: 0] += 1
                }
                attribute = property.pointee.next
            }
            if hasElementChildren(element) {
                if ua != nil {
                    document.warnings.append("\(file):\(line): <\(elementName)> is a block; its ua=\"\(ua!)\" is not kept")
                }
                walk(element, path: fullName, file: file, into: &document, otherAttributes: &otherAttributes,
                     firstAttributeLine: &firstAttributeLine, order: order)
                continue
            }
            var parameter = Parameter(name: fullName, value: trimmed(text(of: element)), ua: ua, line: line)
            parameter.order = order?[element]
            document.parameters.append(parameter)
        }
    }

    /// Every element in document order (pre-order), numbered from 0 from the root: the order libxml2's reader
    /// meets them in.
    static func numberElements(_ first: xmlNodePtr?, into order: inout [xmlNodePtr: Int]) {
        var node = first
        while let current = node {
            if current.pointee.type == XML_ELEMENT_NODE {
                order[current] = order.count
                numberElements(current.pointee.children, into: &order)
            }
            node = current.pointee.next
        }
    }

    /// Per element in document order, whether it was written in the empty-element form `<X/>`. The tree does
    /// not keep the difference; libxml2's reader does (`xmlTextReaderIsEmptyElement`).
    static func emptyElementForms(_ bytes: [UInt8], name: String, options: Int32) -> [Bool] {
        var forms: [Bool] = []
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { pointer in
                guard let reader = xmlReaderForMemory(pointer, Int32(buffer.count), name, nil, options) else { return }
                defer { xmlFreeTextReader(reader) }
                while xmlTextReaderRead(reader) == 1 {
                    if xmlTextReaderNodeType(reader) == 1 { forms.append(xmlTextReaderIsEmptyElement(reader) == 1) }
                }
            }
        }
        return forms
    }

    /// What phones read although XML does not allow it, made readable for libxml2 without moving a line or
    /// touching a value, each with a warning naming the line: white space before `<?xml` and an encoding
    /// declaration that disagrees with bytes that are UTF-8 (the declaration is blanked out: the bytes are read
    /// as UTF-8, as the phone reads them), and `--` inside a comment or a comment ending in `-` (the comment's
    /// dashes are blanked out; a comment is no value).
    static func tolerated(_ original: [UInt8], name: String) -> ([UInt8], [String]) {
        var bytes = original
        var warnings: [String] = []
        func line(at offset: Int) -> Int {
            var count = 1
            for byte in bytes[..<offset] where byte == 0x0a { count += 1 }
            return count
        }
        func blank(_ range: Range<Int>) {
            for index in range where bytes[index] != 0x0a && bytes[index] != 0x0d { bytes[index] = 0x20 }
        }
        // The declaration.
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        var first = start
        while first < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[first]) { first += 1 }
        if bytes[first...].starts(with: Array("<?xml".utf8)),
           let end = find(Array("?>".utf8), in: bytes, from: first) {
            let declaration = String(decoding: bytes[first..<end], as: UTF8.self)
            var reasons: [String] = []
            if first > start { reasons.append("white space before the XML declaration") }
            if let encoding = declaredEncoding(declaration),
               !["utf-8", "utf8"].contains(encoding.lowercased()),
               isUTF8(bytes) {
                reasons.append("declares encoding \(encoding) but the bytes are UTF-8: read as UTF-8, as the phone reads them")
            }
            if !reasons.isEmpty {
                warnings.append("\(name):\(line(at: first)): \(reasons.joined(separator: "; ")) (phones ignore the declaration)")
                blank(first..<(end + 2))
            }
        }
        // Comments.
        var position = 0
        let open = Array("<!--".utf8), close = Array("-->".utf8), cdata = Array("<![CDATA[".utf8), cdataEnd = Array("]]>".utf8)
        while let at = find(Array("<!".utf8), in: bytes, from: position) {
            if bytes[at...].starts(with: cdata) {
                position = (find(cdataEnd, in: bytes, from: at + cdata.count) ?? bytes.count - 3) + 3
                continue
            }
            guard bytes[at...].starts(with: open) else { position = at + 2; continue }
            let innerStart = at + open.count
            guard let end = find(close, in: bytes, from: innerStart) else { break }
            let inner = bytes[innerStart..<end]
            let doubled = zip(inner, inner.dropFirst()).contains { $0 == 0x2d && $1 == 0x2d }
            if doubled || inner.last == 0x2d {
                warnings.append("\(name):\(line(at: at)): comment contains -- (XML forbids it; phones read it as a comment)")
                for index in innerStart..<end where bytes[index] == 0x2d { bytes[index] = 0x20 }
            }
            position = end + close.count
        }
        return (bytes, warnings)
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = from
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// The `encoding="..."` of a declaration.
    static func declaredEncoding(_ declaration: String) -> String? {
        guard let range = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "=" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        return String(rest.dropFirst().prefix { $0 != quote })
    }

    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// Without the spaces, tabs and line breaks around it, as the phone trims a value (FACTS.md §4); other white
    /// space (a no-break space) is part of the value.
    static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        guard let first = bytes.firstIndex(where: { !space($0) }), let last = bytes.lastIndex(where: { !space($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// The element's name as written, prefix included (`a:b` stays `a:b`, which is no parameter name).
    static func qualifiedName(_ node: xmlNodePtr) -> String {
        let local = String(cString: node.pointee.name)
        guard let namespace = node.pointee.ns, let prefix = namespace.pointee.prefix else { return local }
        return String(cString: prefix) + ":" + local
    }

    static func hasElementChildren(_ node: xmlNodePtr) -> Bool {
        var child = node.pointee.children
        while let item = child {
            if item.pointee.type == XML_ELEMENT_NODE { return true }
            child = item.pointee.next
        }
        return false
    }

    static func text(of node: xmlNodePtr) -> String {
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { xmlFreeText(content) }
        return String(cString: content)
    }
}

/// Frees a string libxml2 allocated. `xmlFree` is a C global (a function pointer Swift 6 will not read from a
/// nonisolated context); libxml2's default allocator, which provctl never replaces, is malloc.
func xmlFreeText(_ pointer: UnsafeMutablePointer<xmlChar>) {
    free(pointer)
}

extension ImportedProfile {
    /// One phone's identity in a shared scope: its line credentials (`User_ID_N_`, `Auth_ID_N_`, `Password_N_`),
    /// its `Station_Name`, or a value naming a MAC (any spelling) would reach every device of the scope. Warned
    /// about (never printed: a password is named, not shown), with the device scope offered.
    /// The warning names the file and the line of the first such value, as every import warning does; nil at a
    /// device scope or when no value names one phone. `bytes`: the file's content.
    public func onePhoneWarning(scope: Scope, bytes: [UInt8]) -> String? {
        if case .device = scope { return nil }
        var named: [String] = []
        var macs: Set<String> = []
        for (name, value) in settings.map({ ($0.name, $0.value) }) where !value.trimmingCharacters(in: .whitespaces).isEmpty {
            let perLine = ["User_ID_", "Auth_ID_", "Password_"].contains { name.hasPrefix($0) }
            var mac: MACAddress?
            for word in value.split(whereSeparator: { !($0.isHexDigit || $0 == ":" || $0 == "-" || $0 == ".") }) {
                // All zeros or all ones name no phone (MAC_Address_Clone_Address's factory value, broadcast).
                if word.count >= 12, let found = MACAddress(String(word)), found.hex != "000000000000", found.hex != "ffffffffffff" {
                    mac = found; break
                }
            }
            if perLine || name == "Station_Name" || mac != nil {
                named.append(name)
                if let mac { macs.insert(mac.hex) }
            }
        }
        guard !named.isEmpty else { return nil }
        let target = macs.count == 1 ? "device:\(macs.first!)" : "device:MAC"
        // The line of the first named value: where its element opens in the file.
        let leaf = named[0].split(separator: "/").last.map(String.init) ?? named[0]
        let lines = String(validating: bytes, as: UTF8.self)?.split(separator: "\n", omittingEmptySubsequences: false) ?? []
        let line = lines.firstIndex { $0.contains("<" + leaf + " ") || $0.contains("<" + leaf + ">") || $0.contains("<" + leaf + "/") }.map { $0 + 1 } ?? 1
        return "\(file):\(line): \(named.count) value(s) name one phone (\(named.prefix(6).joined(separator: ", "))\(named.count > 6 ? ", ..." : "")): "
             + "at \(scope) they reach every device there; a phone's identity belongs to its device scope (--scope \(target))"
    }
}
