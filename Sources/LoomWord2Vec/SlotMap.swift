import LoomCore

/// Maps the ids a step touches to dense slots `0..<unique.count`, so the gradient rows of repeated
/// ids can be summed before a sparse update (as TensorFlow deduplicates `IndexedSlices`).
struct SlotMap {
    private var stamp: [UInt32]
    private var slotOf: [Int32]
    private var generation: UInt32 = 0
    /// The distinct ids in order of first appearance.
    private(set) var unique: [Int32] = []

    init(range: Int) {
        stamp = [UInt32](repeating: 0, count: range)
        slotOf = [Int32](repeating: 0, count: range)
    }

    mutating func reset() {
        generation &+= 1
        if generation == 0 {
            for i in 0..<stamp.count { stamp[i] = 0 }
            generation = 1
        }
        unique.removeAll(keepingCapacity: true)
    }

    /// The slot of `id`, giving it the next one if new.
    @inline(__always)
    mutating func slot(_ id: Int32) -> Int32 {
        let i = Int(id)
        if stamp[i] == generation { return slotOf[i] }
        stamp[i] = generation
        let s = Int32(unique.count)
        slotOf[i] = s
        unique.append(id)
        return s
    }
}
