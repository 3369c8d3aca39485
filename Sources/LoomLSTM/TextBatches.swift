/// The course's `BatchGenerator`: `B` cursors spread evenly over the text, each segment the
/// `T + 1` characters from the last one of the previous segment on. Cursor `b` after `s` segments
/// sits at `b·⌊N/B⌋ + 1 + s·T` (mod N), so the step number is the whole state. A rank of a
/// data-parallel job reads only its `cursors` of the global batch.
public struct TextBatches: Sendable {
    public let ids: [UInt16]
    /// The global batch: the cursors spread over the text.
    public let batch: Int
    /// The cursors this process reads (all of them for one rank).
    public let cursors: Range<Int>
    public let unrollings: Int
    public let alphabetSize: Int
    public let bigram: Bool

    public init(ids: [UInt16], batch: Int, cursors: Range<Int>? = nil, unrollings: Int, alphabetSize: Int, bigram: Bool) {
        self.ids = ids
        self.batch = batch
        self.cursors = cursors ?? 0..<batch
        precondition(self.cursors.lowerBound >= 0 && self.cursors.upperBound <= batch, "cursors outside the batch")
        self.unrollings = unrollings
        self.alphabetSize = alphabetSize
        self.bigram = bigram
    }

    /// Fills `inputs` (T·C, time-major, C = `cursors.count`) and `labels` (T·C) for segment `step`.
    public func segment(_ step: Int, inputs: inout [Int32], labels: inout [Int32]) {
        let n = ids.count, segmentLength = n / batch, t = unrollings
        inputs.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        for i in 0..<t {
            for b in cursors {
                // Column 0 of this segment is the last character of the previous one.
                let start = b * segmentLength + step * t
                let x = Int(ids[(start + i) % n])
                if bigram {
                    let previous = Int(ids[((start + i - 1) % n + n) % n])
                    inputs.append(Int32(previous * alphabetSize + x))
                } else {
                    inputs.append(Int32(x))
                }
                labels.append(Int32(ids[(start + i + 1) % n]))
            }
        }
    }
}
