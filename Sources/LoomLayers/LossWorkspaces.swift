import LoomCore

/// A trainer's workspaces by shape, training and evaluation apart: batches of similar shapes
/// reuse one, and the losses their softmax outputs accumulate are read back together (one host
/// read per workspace with something counted). Memory stays bounded: past `limit`, workspaces
/// with no loss waiting are dropped.
public final class LossWorkspaces<W: AnyObject> {
    public let limit: Int
    private let output: (W) -> SoftmaxOutput.Workspace
    private var entries: [String: (training: Bool, workspace: W)] = [:]

    /// - Parameter output: the softmax-output workspace inside a model workspace.
    public init(limit: Int, output: @escaping (W) -> SoftmaxOutput.Workspace) {
        self.limit = limit
        self.output = output
    }

    /// The workspace of shape `key`, made by `make` the first time.
    public func workspace(_ key: String, training: Bool, make: () throws -> W) rethrows -> W {
        let full = (training ? "t" : "e") + key
        if let e = entries[full] { return e.workspace }
        if entries.count >= limit { entries = entries.filter { output($0.value.workspace).lossCount > 0 } }
        let ws = try make()
        entries[full] = (training, ws)
        return ws
    }

    /// The mean loss per target since the last call over the training (or evaluation)
    /// workspaces of `layer`, or nil when nothing was counted.
    public func takeLoss(training: Bool, layer: SoftmaxOutput) throws -> Double? {
        let (total, count) = try takeLossSum(training: training, layer: layer)
        return count > 0 ? total / Double(count) : nil
    }

    /// Σ loss and the number of targets since the last call (for a mean over several ranks).
    public func takeLossSum(training: Bool, layer: SoftmaxOutput) throws -> (total: Double, count: Int) {
        var total = 0.0, count = 0
        for e in entries.values where e.training == training {
            let o = output(e.workspace), n = o.lossCount
            if n > 0, let loss = try layer.takeLoss(o) {
                total += loss * Double(n)
                count += n
            }
        }
        return (total, count)
    }
}
