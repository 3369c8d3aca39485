import Foundation

/// An open-addressing hash table of byte strings: each distinct word is stored once in an arena
/// and gets a dense index in order of first appearance, with a count. Counting a corpus touches
/// no Swift `String`.
final class WordTable {
    private(set) var count = 0
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    private var hashes: [UInt64] = []
    private(set) var counts: [Int] = []
    /// Word index + 1 per slot; 0 is empty. Capacity is a power of two, at most half full.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1 << 16) {
        var c = 16
        while c < capacity { c <<= 1 }
        slots = [Int32](repeating: 0, count: c)
        mask = c - 1
        arena.reserveCapacity(1 << 20)
    }

    @inline(__always)
    static func hash(_ word: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in word { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// The index of `word`, adding it (with count 0) if new; then adds `increment` to its count.
    @inline(__always)
    func intern(_ word: UnsafeRawBufferPointer, increment: Int = 1) -> Int32 {
        let h = Self.hash(word)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            let index = Int(entry) - 1
            if hashes[index] == h && equal(index, word) {
                counts[index] += increment
                return Int32(index)
            }
            slot = (slot + 1) & mask
        }
        let index = count
        arena.append(contentsOf: word)
        starts.append(arena.count)
        hashes.append(h)
        counts.append(increment)
        count += 1
        slots[slot] = Int32(index + 1)
        if count * 2 > slots.count { grow() }
        return Int32(index)
    }

    /// The index of `word`, or nil.
    func find(_ word: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(word)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let index = Int(entry) - 1
            if hashes[index] == h && equal(index, word) { return Int32(index) }
            slot = (slot + 1) & mask
        }
    }

    /// The word at `index` as a String (for building a vocabulary once).
    func word(_ index: Int) -> String {
        String(decoding: arena[starts[index]..<starts[index + 1]], as: UTF8.self)
    }

    @inline(__always)
    private func equal(_ index: Int, _ word: UnsafeRawBufferPointer) -> Bool {
        let start = starts[index], length = starts[index + 1] - start
        guard length == word.count else { return false }
        if length == 0 { return true }
        return arena.withUnsafeBytes { memcmp($0.baseAddress! + start, word.baseAddress!, length) == 0 }
    }

    private func grow() {
        var c = slots.count * 2
        while count * 2 > c { c *= 2 }
        slots = [Int32](repeating: 0, count: c)
        mask = c - 1
        for index in 0..<count {
            var slot = Int(truncatingIfNeeded: hashes[index]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }
}
