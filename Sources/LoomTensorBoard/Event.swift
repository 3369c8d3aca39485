import SwiftProtobuf

// The part of TensorFlow's `tensorflow/core/util/event.proto` and `framework/summary.proto`
// that scalar summaries use, as SwiftProtobuf messages (what protoc-gen-swift writes for these
// fields; written out here so the build needs no protoc plugin):
//
//     message Event   { double wall_time = 1; int64 step = 2;
//                       oneof what { string file_version = 3; Summary summary = 5; … } }
//     message Summary { repeated Value value = 1;
//                       message Value { string tag = 1; oneof value { float simple_value = 2; … } } }
//
// Other fields of files written by TensorFlow are kept as unknown fields when read.

/// `tensorflow.Event`: one record of an event file.
struct TensorFlowEvent: Sendable {
    var wallTime: Double = 0
    var step: Int64 = 0
    /// "brain.Event:2" in a file's first event.
    var fileVersion: String?
    var summary: TensorFlowSummary?
    var unknownFields = UnknownStorage()
    init() {}
}

/// `tensorflow.Summary`: tagged values.
struct TensorFlowSummary: Sendable {
    var value: [Value] = []
    var unknownFields = UnknownStorage()
    init() {}

    /// `tensorflow.Summary.Value` with a `simple_value`.
    struct Value: Sendable {
        var tag = ""
        var simpleValue: Float?
        var unknownFields = UnknownStorage()
        init() {}
    }
}

extension TensorFlowEvent: Message, _MessageImplementationBase, _ProtoNameProviding {
    static let protoMessageName = "tensorflow.Event"
    static let _protobuf_nameMap = _NameMap(bytecode: "\0\u{3}wall_time\0\u{1}step\0\u{3}file_version\0\u{2}\u{2}summary\0")

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            switch field {
            case 1: try decoder.decodeSingularDoubleField(value: &wallTime)
            case 2: try decoder.decodeSingularInt64Field(value: &step)
            case 3: try decoder.decodeSingularStringField(value: &fileVersion)
            case 5: try decoder.decodeSingularMessageField(value: &summary)
            default: break
            }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if wallTime != 0 { try visitor.visitSingularDoubleField(value: wallTime, fieldNumber: 1) }
        if step != 0 { try visitor.visitSingularInt64Field(value: step, fieldNumber: 2) }
        if let fileVersion { try visitor.visitSingularStringField(value: fileVersion, fieldNumber: 3) }
        if let summary { try visitor.visitSingularMessageField(value: summary, fieldNumber: 5) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (a: Self, b: Self) -> Bool {
        a.wallTime == b.wallTime && a.step == b.step && a.fileVersion == b.fileVersion && a.summary == b.summary
            && a.unknownFields == b.unknownFields
    }
}

extension TensorFlowSummary: Message, _MessageImplementationBase, _ProtoNameProviding {
    static let protoMessageName = "tensorflow.Summary"
    static let _protobuf_nameMap = _NameMap(bytecode: "\0\u{1}value\0")

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            if field == 1 { try decoder.decodeRepeatedMessageField(value: &value) }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if !value.isEmpty { try visitor.visitRepeatedMessageField(value: value, fieldNumber: 1) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (a: Self, b: Self) -> Bool { a.value == b.value && a.unknownFields == b.unknownFields }
}

extension TensorFlowSummary.Value: Message, _MessageImplementationBase, _ProtoNameProviding {
    static let protoMessageName = "tensorflow.Summary.Value"
    static let _protobuf_nameMap = _NameMap(bytecode: "\0\u{1}tag\0\u{3}simple_value\0")

    mutating func decodeMessage<D: Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            switch field {
            case 1: try decoder.decodeSingularStringField(value: &tag)
            case 2: try decoder.decodeSingularFloatField(value: &simpleValue)
            default: break
            }
        }
    }

    func traverse<V: Visitor>(visitor: inout V) throws {
        if !tag.isEmpty { try visitor.visitSingularStringField(value: tag, fieldNumber: 1) }
        if let simpleValue { try visitor.visitSingularFloatField(value: simpleValue, fieldNumber: 2) }
        try unknownFields.traverse(visitor: &visitor)
    }

    static func == (a: Self, b: Self) -> Bool {
        a.tag == b.tag && a.simpleValue == b.simpleValue && a.unknownFields == b.unknownFields
    }
}
