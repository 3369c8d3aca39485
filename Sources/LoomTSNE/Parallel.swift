import Dispatch

/// Work split over the host's threads in fixed chunks, so results (partial sums included) do not
/// depend on timing: the same input and thread count give the same bits.
struct HostThreads {
    let count: Int

    /// Runs `body(chunk, range)` for `chunks` contiguous slices of `0..<total`, concurrently.
    /// `chunks` is at most `total` and at least 1; `body` must only write what its slice owns.
    func forEachChunk(_ total: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let c = max(1, min(chunks, total))
        if c == 1 || count == 1 {
            for k in 0..<c { body(k, (total * k / c)..<(total * (k + 1) / c)) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: c) { k in
            body(k, (total * k / c)..<(total * (k + 1) / c))
        }
    }

    /// Chunks for `total` items of roughly equal cost: a few per thread for balance, none smaller
    /// than `grain` items.
    func chunks(for total: Int, grain: Int) -> Int {
        count == 1 ? 1 : max(1, min(4 * count, total / max(grain, 1)))
    }
}
