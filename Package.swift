// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Loom",
    platforms: [.macOS(.v13)],
    products: [
        // MARK: Public API
        .library(name: "Loom", targets: ["Loom"]),
        .executable(name: "loom", targets: ["LoomCLI"]),
        .executable(name: "loom-bench", targets: ["LoomBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Inflate and CRC-32 for zip entries (the zip directory itself is read in LoomData).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // HTTP and HTTPS downloads (FoundationNetworking's URLSession traps on some broken responses).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
    ],
    targets: [
        // MARK: C libraries (system modules, found with pkg-config)
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "CCLBlast", pkgConfig: "clblast",
                       providers: [.apt(["libclblast-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Not named CZlib: ZIPFoundation's module map already defines a module of that name.
        .systemLibrary(name: "CLoomZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // MARK: Engine
        // Shapes, tensors, the Backend protocol, errors. Imports no C.
        .target(name: "LoomCore"),
        // Hot CPU loops in C, built for AVX2+FMA and for baseline x86-64, chosen at run time.
        .target(name: "_LoomCPUKernels"),
        // The readable reference backend: OpenBLAS GEMM plus vectorised loops.
        .target(name: "LoomCPU", dependencies: ["LoomCore", "COpenBLAS", "_LoomCPUKernels"]),
        // The `.cl` kernel sources, embedded in the binary.
        .target(
            name: "LoomKernels",
            path: "Kernels",
            resources: [
                .embedInCode("common.cl"),
                .embedInCode("elementwise.cl"),
                .embedInCode("conv.cl"),
                .embedInCode("embedding.cl"),
                .embedInCode("reduce.cl"),
                .embedInCode("softmax.cl"),
                .embedInCode("dropout.cl"),
                .embedInCode("optimizers.cl"),
                .embedInCode("lstm_gates.cl"),
                .embedInCode("sampled_softmax.cl"),
                .embedInCode("negative_sampling.cl"),
                .embedInCode("tsne.cl"),
                .embedInCode("word2vec.cl"),
            ]
        ),
        // Small owning types over OpenCL, CLBlast for GEMM, hand-written kernels for the rest.
        .target(name: "LoomOpenCL",
                dependencies: ["LoomCore", "LoomKernels", "COpenCL", "CCLBlast",
                               .product(name: "Logging", package: "swift-log")]),
        // Data-parallel jobs on Open MPI: the `Communicator` of a job started by `mpirun`.
        .target(name: "LoomMPI", dependencies: ["LoomCore", "CMPI"]),
        // MARK: Text and models
        // Corpora, vocabularies, id streams, downloads.
        .target(name: "LoomData",
                dependencies: ["LoomCore", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "NIOHTTP1", package: "swift-nio"),
                               .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        // Images: 8-bit greyscale pictures, PNG through libpng, JPEG through libjpeg-turbo, IDX files
        // (MNIST, Fashion-MNIST).
        .target(name: "LoomImages", dependencies: ["LoomCore", "CPNG", "CTurboJPEG", "CLoomZlib"]),
        // Word vectors on the host: formats, neighbours, analogies, evaluation.
        .target(name: "LoomEmbeddings", dependencies: ["LoomCore", "COpenBLAS"]),
        // word2vec: samplers, batches, skip-gram and CBOW training on any Backend.
        .target(name: "LoomWord2Vec", dependencies: ["LoomCore", "LoomData", "LoomEmbeddings"]),
        // Layers models are composed of: parameter store, LSTM stack, embedding, softmax output,
        // attention; the shared training loop and decoder (sampling, greedy, beam search).
        .target(name: "LoomLayers", dependencies: ["LoomCore"]),
        // Character LSTM language models: BPTT with fused gates, clipping, dropout, generation.
        .target(name: "LoomLSTM", dependencies: ["LoomCore", "LoomData", "LoomLayers"]),
        // Sequence to sequence: encoder–decoder LSTMs with attention, pairs, tasks, scoring.
        .target(name: "LoomSeq2Seq", dependencies: ["LoomCore", "LoomData", "LoomLayers"]),
        // Image captioning: a CNN encoder feeding an LSTM decoder; Fashion-MNIST scenes.
        .target(name: "LoomCaption", dependencies: ["LoomCore", "LoomLayers", "LoomImages", "LoomSeq2Seq"]),
        // t-SNE: affinities, PCA start, the exact gradient as Backend ops, Barnes-Hut on the host.
        .target(name: "LoomTSNE", dependencies: ["LoomCore", "COpenBLAS"]),
        // SVG figures in pure Swift: labelled scatter plots, line charts.
        .target(name: "LoomPlot"),
        // Training curves as TensorBoard event files: TFRecord framing around Event protobufs.
        .target(name: "LoomTensorBoard",
                dependencies: ["LoomCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // The library users import: re-exports the core and picks a device.
        .target(name: "Loom",
                dependencies: ["LoomCore", "LoomCPU", "LoomOpenCL", "LoomData", "LoomEmbeddings", "LoomWord2Vec",
                               "LoomLayers", "LoomLSTM", "LoomSeq2Seq", "LoomImages", "LoomCaption", "LoomTSNE", "LoomPlot",
                               "LoomTensorBoard", "LoomMPI", .product(name: "Logging", package: "swift-log")]),

        // MARK: Programs
        .executableTarget(name: "LoomCLI",
                          dependencies: ["Loom",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "LoomBench",
                          dependencies: ["Loom", "COpenBLAS",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Benchmarks/LoomBench"),

        // MARK: Tests
        .testTarget(name: "LoomTests",
                    dependencies: ["Loom", "LoomKernels", "LoomTensorBoard",
                                   .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
    ],
    swiftLanguageModes: [.v5]
)
