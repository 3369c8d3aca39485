import LoomCore

/// Where a dropout mask comes from: the masks are pure functions of (`seed`, `stream`, element)
/// on every backend, so the backward pass regenerates them instead of storing them. Streams are
/// `step << 8 | site`: each site of a model (an embedding, a layer's output) has its own number.
public struct DropoutSite: Sendable {
    public var seed: UInt64
    public var step: Int
    public var site: Int

    public init(seed: UInt64, step: Int, site: Int) {
        self.seed = seed
        self.step = step
        self.site = site
    }

    public var stream: UInt64 { UInt64(step) << 8 | UInt64(site) }

    /// The same step, another site.
    public func at(_ site: Int) -> DropoutSite { DropoutSite(seed: seed, step: step, site: site) }
}
