import Foundation

/// The OpenCL C sources of Loom's kernels, embedded in the binary at build time.
///
/// Each program is `common.cl` followed by one op family's file. Setting `LOOM_KERNEL_DIR` to a
/// folder of `.cl` files makes Loom read them from there instead, to try a kernel change
/// without rebuilding.
package enum KernelSources {
    /// The op families, one `.cl` file each.
    package enum Family: String, CaseIterable, Sendable {
        case elementwise, embedding, reduce, softmax, dropout, optimizers
        case lstmGates = "lstm_gates"
        case sampledSoftmax = "sampled_softmax"
        case negativeSampling = "negative_sampling"
        case tsne
        case convolution = "conv"
        case word2vec

        package var fileName: String { rawValue + ".cl" }
    }

    /// The full source of the program for `family`, and where it came from.
    package static func program(_ family: Family) throws -> (source: String, origin: String) {
        if let dir = ProcessInfo.processInfo.environment["LOOM_KERNEL_DIR"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir)
            let common = try String(contentsOf: url.appendingPathComponent("common.cl"), encoding: .utf8)
            let body = try String(contentsOf: url.appendingPathComponent(family.fileName), encoding: .utf8)
            return (common + "\n" + body, url.appendingPathComponent(family.fileName).path)
        }
        return (embedded(.init(PackageResources.common_cl)) + "\n" + embedded(bytes(family)), "embedded " + family.fileName)
    }

    private static func bytes(_ family: Family) -> [UInt8] {
        switch family {
        case .elementwise: return PackageResources.elementwise_cl
        case .embedding: return PackageResources.embedding_cl
        case .reduce: return PackageResources.reduce_cl
        case .softmax: return PackageResources.softmax_cl
        case .dropout: return PackageResources.dropout_cl
        case .optimizers: return PackageResources.optimizers_cl
        case .lstmGates: return PackageResources.lstm_gates_cl
        case .sampledSoftmax: return PackageResources.sampled_softmax_cl
        case .convolution: return PackageResources.conv_cl
        case .negativeSampling: return PackageResources.negative_sampling_cl
        case .tsne: return PackageResources.tsne_cl
        case .word2vec: return PackageResources.word2vec_cl
        }
    }

    private static func embedded(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
