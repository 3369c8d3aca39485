// swift-tools-version:6.0
// libFuzzer targets for every reader of outside bytes. Not part of the main build: scripts/fuzz.sh
// builds this package with `-sanitize=fuzzer,address` and runs one target.
import PackageDescription

let package = Package(
    name: "LoomFuzz",
    // scripts/fuzz.sh links .build-fuzz/Loom to the repository, so the dependency's name does not
    // depend on the folder the repository was cloned into.
    dependencies: [.package(path: "../.build-fuzz/Loom")],
    targets: [
        .executableTarget(name: "LoomFuzz", dependencies: [.product(name: "Loom", package: "Loom")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v5]
)
