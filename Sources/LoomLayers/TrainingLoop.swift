import Foundation
import LoomCore

/// Where a run stands, for progress bars.
public struct TrainingReport: Sendable {
    public var step: Int
    public var totalSteps: Int
    /// Mean training loss since the last report.
    public var loss: Double?
    public var perplexity: Double? { loss.map { exp($0) } }
    public var learningRate: Float
    public var stepsPerSecond: Double
    /// Examples (characters, pairs, …) per second.
    public var examplesPerSecond: Double
    public var elapsedSeconds: Double
}

/// What a model gives the shared training loop.
public protocol TrainingTask: AnyObject {
    /// One training step (forward, backward, update) of step number `step`.
    func trainStep(_ step: Int) throws
    /// The mean training loss since the last call, or nil (a host read).
    func takeLoss() throws -> Double?
    /// The learning rate at `step`, for reports.
    func learningRate(at step: Int) -> Float
    /// Whether `validate` has anything to measure.
    var canValidate: Bool { get }
    /// Metrics on held-out data (the first is the headline).
    func validate(at step: Int) throws -> [(String, Double)]
    /// Writes a checkpoint of the state after `step` to `url`.
    func saveCheckpoint(to url: URL, step: Int) throws
}

/// The one training loop every model shares: it runs the model's steps and, on its cadence,
/// reports the loss (one host read per report), validates, writes checkpoints and the JSON-lines
/// log, stops on a non-finite loss before anything non-finite is saved, and can stop cleanly
/// after a time budget. Models supply closures; the loop knows nothing about them.
public final class TrainingLoop {
    public var totalSteps: Int
    public var reportEvery = 100
    /// Steps between validations (0: only at the end).
    public var evalEvery = 1000
    public var checkpointURL: URL?
    public var saveEvery: Int?
    public var log: (any RunRecorder)?
    /// Stop (cleanly: validation and checkpoint at the stopping step) after this many seconds.
    public var maxSeconds: Double?
    /// Examples a step trains on, for the rate in reports.
    public var examplesPerStep: Double = 1
    /// The data-parallel job the run is one rank of: the ranks agree on stopping by time (one
    /// allreduce of a flag per step, only with `maxSeconds`), so none is left waiting.
    public var communicator: any Communicator = SingleProcess()
    /// What to suggest when the loss turns non-finite.
    public var divergenceAdvice = "try a lower --lr or gradient clipping (--clip)"

    public var onReport: ((TrainingReport) -> Void)?
    public var onValidation: ((_ step: Int, _ metrics: [(String, Double)]) -> Void)?
    public var onCheckpoint: ((_ step: Int, _ url: URL) -> Void)?

    public init(totalSteps: Int, reportEvery: Int = 100, evalEvery: Int = 1000, checkpointURL: URL? = nil,
                saveEvery: Int? = nil, log: (any RunRecorder)? = nil, maxSeconds: Double? = nil, examplesPerStep: Double = 1) {
        self.totalSteps = totalSteps
        self.reportEvery = reportEvery
        self.evalEvery = evalEvery
        self.checkpointURL = checkpointURL
        self.saveEvery = saveEvery
        self.log = log
        self.maxSeconds = maxSeconds
        self.examplesPerStep = examplesPerStep
    }

    public struct Summary: Sendable {
        /// The step reached (counting steps of an earlier run that was resumed).
        public var steps: Int
        public var seconds: Double
        public var stepsPerSecond: Double
        public var trainingLoss: Double?
        /// The last validation's metrics, in the order the model gave them.
        public var validation: [(String, Double)]?
        /// The time budget ended the run before `totalSteps`.
        public var stoppedByTime: Bool
    }

    /// Runs `task`'s steps `startStep ..< totalSteps`.
    public func run(_ task: TrainingTask, from startStep: Int) throws -> Summary {
        let clock = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 }
        var lastLoss: Double?
        var lastValid: [(String, Double)]?
        var s = startStep
        var stoppedByTime = false
        while s < totalSteps {
            try task.trainStep(s)
            s += 1
            if let limit = maxSeconds, s < totalSteps {
                let late = seconds() >= limit
                stoppedByTime = communicator.size > 1 ? try communicator.sum(late ? 1 : 0) > 0 : late
            }
            let last = s == totalSteps || stoppedByTime
            let validating = task.canValidate && ((evalEvery > 0 && s % evalEvery == 0) || last)
            let saving = checkpointURL != nil && saveEvery.map { s % $0 == 0 || last } == true
            // The loss is read (and checked) before every validation and checkpoint, so a diverged
            // state is never saved.
            if s % reportEvery == 0 || last || validating || saving {
                if let loss = try task.takeLoss() {
                    try Divergence.check(loss, step: s, advice: divergenceAdvice)
                    lastLoss = loss
                }
                let t = seconds(), done = Double(s - startStep)
                let report = TrainingReport(step: s, totalSteps: totalSteps, loss: lastLoss, learningRate: task.learningRate(at: s - 1),
                                            stepsPerSecond: done / t, examplesPerSecond: done * examplesPerStep / t,
                                            elapsedSeconds: t)
                onReport?(report)
                try log?.record(RunRecord(step: s, elapsed: t, loss: lastLoss, perplexity: report.perplexity,
                                          learningRate: Double(report.learningRate), stepsPerSecond: report.stepsPerSecond,
                                          examplesPerSecond: report.examplesPerSecond))
            }
            if validating {
                let metrics = try task.validate(at: s)
                lastValid = metrics
                onValidation?(s, metrics)
                try log?.record(RunRecord(step: s, elapsed: seconds(),
                                          validation: Dictionary(metrics, uniquingKeysWith: { _, last in last })))
            }
            if saving, let url = checkpointURL {
                try task.saveCheckpoint(to: url, step: s)
                onCheckpoint?(s, url)
            }
            if stoppedByTime { break }
        }
        let t = seconds()
        return Summary(steps: s, seconds: t, stepsPerSecond: Double(s - startStep) / max(t, 1e-9),
                       trainingLoss: lastLoss, validation: lastValid, stoppedByTime: stoppedByTime)
    }
}
