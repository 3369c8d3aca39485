import Foundation
import Loom

/// One libFuzzer entry point for all of Loom's readers of outside bytes; `LOOM_FUZZ_TARGET` picks
/// the reader. The bytes go to a file (the readers take paths, as users give them) and the reader
/// runs on it: a thrown error is the right answer to bad bytes; a trap, a crash or an address
/// sanitizer report is a finding.
enum FuzzTarget: String, CaseIterable {
    case corpus, vectors, projector, archive, checkpoint, zip, runlog, analogies, similarity, pairs
    case png, jpeg, idx, captions, vocabulary

    static let chosen: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["LOOM_FUZZ_TARGET"] ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("LOOM_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
            exit(2)
        }
        return t
    }()

    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Small good vectors for the evaluation-file targets.
    static let sampleVectors: WordVectors = {
        let words = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "a", "b"]
        var values: [Float] = []
        for i in words.indices { for d in 0..<4 { values.append(Float((i * 7 + d * 3) % 11) - 5) } }
        return try! WordVectors(words: words, dimension: 4, vectors: values, counts: nil)
    }()

    func run(_ data: Data) {
        let file = Self.folder.appendingPathComponent("input")
        try? data.write(to: file)
        switch self {
        case .corpus:
            _ = try? Corpus.load(file, options: CorpusOptions(minCount: 1))
        case .vectors:
            _ = try? WordVectors.load(from: file)
        case .projector:
            // A projector folder: the fuzzed bytes as vectors.tsv, a fixed metadata.tsv.
            let dir = Self.folder.appendingPathComponent("projector")
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try? data.write(to: dir.appendingPathComponent("vectors.tsv"))
            try? Data("word\tcount\na\t1\nb\t2\n".utf8).write(to: dir.appendingPathComponent("metadata.tsv"))
            _ = try? WordVectors.loadProjector(from: dir)
        case .archive:
            if let a = try? TensorArchive.read(from: file) {
                for name in a.names { _ = try? a.floats(name) }
            }
        case .checkpoint:
            _ = try? CharLSTMTrainer.loadModel(from: file, backend: Self.cpu)
        case .zip:
            // What `loom corpus import` does: read the directory, find the entry, check and unpack it.
            // The seeds hold an entry called a.txt, so mutations that keep its name reach inflate.
            let source = CorpusSource(name: "fuzz", url: "file:///fuzz.zip", zipSize: nil, entry: "a.txt",
                                      unpackedSize: nil, crc32: nil, summary: "fuzz input")
            _ = try? CorpusCatalog.importZip(source, from: file, cacheDirectory: Self.folder.appendingPathComponent("cache"))
        case .runlog:
            _ = try? RunLog.read(from: file)
        case .analogies:
            _ = try? Self.sampleVectors.evaluateAnalogies(file: file)
        case .similarity:
            _ = try? Self.sampleVectors.evaluateSimilarity(file: file)
        case .pairs:
            _ = try? PairFile.read(file)
        case .png:
            _ = try? GrayImage.readPNG(file)
        case .jpeg:
            _ = try? GrayImage.readJPEG(file)
        case .idx:
            _ = try? IDXFile.images(file)
        case .captions:
            _ = try? CaptionFile.parse(String(decoding: data, as: UTF8.self), source: "fuzz")
        case .vocabulary:
            _ = try? Vocabulary.read(from: file)
        }
    }

    static let cpu = CPUBackend(threads: 1)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTarget.chosen.run(start.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; hand the command line to
// libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("LoomFuzz_main")
func loomFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzOne($0, $1) }
}
