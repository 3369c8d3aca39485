import Foundation
import LoomCore
import LoomData

/// Where the example stream stands. Every random choice is a pure function of the seed and of a
/// position in the text (counter-based, Philox), so this small value is all a checkpoint needs to
/// regenerate exactly the batches that follow.
public struct StreamPosition: Codable, Equatable, Sendable {
    /// Corpus positions consumed since the start of training (epochs × corpus + offset).
    public var wordsDone: Int = 0
    /// Course batching: the cursor (`data_index`); dynamic: the next centre's position in the text.
    public var cursor: Int = 0
    public init() {}
}

/// One batch of examples on the host, before sampling.
struct ExampleBatch {
    /// `(count, width)` input ids: the centre (skip-gram, width 1; dynamic skip-gram: the context
    /// word, as word2vec), or a bag of context ids padded with −1 (CBOW).
    var inputs: [Int32] = []
    /// `(count)` the word each example predicts.
    var labels: [Int32] = []
    var count = 0
    /// Corpus positions this batch advanced.
    var words = 0
}

/// Cuts examples from an id stream, as the course's `generate_batch` or as word2vec does.
struct ExampleStream {
    let ids: IDStream
    let model: Word2VecConfig.Model
    let batching: Word2VecConfig.Batching
    let batchSize: Int
    let seed: UInt64
    /// Keep probability of each id (subsampling); nil keeps everything.
    let keep: [Float]?
    var position = StreamPosition()

    /// Width of an input row: 1 for skip-gram, the largest context for CBOW.
    var inputWidth: Int { model == .skipgram ? 1 : batching.maxContext }

    static let sentenceLength = 1000

    init(ids: IDStream, model: Word2VecConfig.Model, batching: Word2VecConfig.Batching, batchSize: Int,
         seed: UInt64, keep: [Float]?) {
        self.ids = ids
        self.model = model
        self.batching = batching
        self.batchSize = batchSize
        self.seed = seed
        self.keep = keep
        if case let .course(w, _) = batching { position.cursor = 2 * w + 1 }
    }

    /// Fills `batch` with the next examples.
    mutating func next(into batch: inout ExampleBatch) {
        batch.inputs.removeAll(keepingCapacity: true)
        batch.labels.removeAll(keepingCapacity: true)
        batch.count = 0
        batch.words = 0
        switch batching {
        case let .course(skipWindow, numSkips): nextCourse(&batch, skipWindow, numSkips)
        case let .dynamic(window): nextDynamic(&batch, window)
        }
    }

    /// A generator for the random choices made at one centre (`wordsDone` is unique per centre).
    @inline(__always)
    private func rng(at counter: Int, _ kind: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(counter) &* 0xBF58_476D_1CE4_E5B9 ^ kind)
    }

    // MARK: Course

    /// `generate_batch(batch_size, num_skips, skip_window)`: the centre is `buffer[skip_window]`
    /// where the buffer holds the `span` ids before the cursor (wrapping around the text).
    private mutating func nextCourse(_ batch: inout ExampleBatch, _ skipWindow: Int, _ numSkips: Int) {
        let span = 2 * skipWindow + 1
        let n = ids.count
        let centres = model == .skipgram ? batchSize / numSkips : batchSize
        for _ in 0..<centres {
            let start = ((position.cursor - span) % n + n) % n
            let centre = ids[(start + skipWindow) % n]
            if model == .skipgram {
                // num_skips distinct targets, drawn as the course does: random.randint until unused.
                var g = rng(at: position.wordsDone, 1)
                var avoid: UInt64 = 1 << UInt64(skipWindow)
                for _ in 0..<numSkips {
                    var target = skipWindow
                    while avoid & (1 << UInt64(target)) != 0 { target = Int(g.next() % UInt64(span)) }
                    avoid |= 1 << UInt64(target)
                    batch.inputs.append(centre)
                    batch.labels.append(ids[(start + target) % n])
                    batch.count += 1
                }
            } else {
                for j in 0..<span where j != skipWindow { batch.inputs.append(ids[(start + j) % n]) }
                batch.labels.append(centre)
                batch.count += 1
            }
            position.cursor = (position.cursor + 1) % n
            position.wordsDone += 1
            batch.words += 1
        }
    }

    // MARK: Dynamic window (word2vec)

    /// Whether the token at text position `q` survives subsampling in the current epoch.
    @inline(__always)
    private func kept(_ q: Int, epoch: Int) -> Bool {
        guard let keep else { return true }
        let p = keep[Int(ids[q])]
        if p >= 1 { return true }
        let draw = Philox.word(index: UInt64(q), seed: seed, stream: UInt64(epoch) << 1)
        return Float(draw >> 8) * (1 / 16_777_216.0) < p
    }

    /// word2vec's window: sentences of 1000 words, frequent words subsampled away first, then for
    /// each centre a window shrunk by `b ∈ 0..<window` at random, every context in it.
    private mutating func nextDynamic(_ batch: inout ExampleBatch, _ window: Int) {
        let n = ids.count
        let width = inputWidth
        while true {
            if position.cursor >= n { position.cursor = 0 }  // next epoch
            let q = position.cursor
            let epoch = position.wordsDone / n
            let s = q / Self.sentenceLength * Self.sentenceLength
            if s != sentence.start || epoch != sentence.epoch { loadSentence(start: s, epoch: epoch) }
            // The first surviving centre at or after q (the cursor only moves forward in a sentence).
            if sentence.next > 0 && sentence.kept[sentence.next - 1] >= q { sentence.next = 0 }
            while sentence.next < sentence.kept.count && sentence.kept[sentence.next] < q { sentence.next += 1 }
            let ci = sentence.next
            guard ci < sentence.kept.count else {
                let end = min(s + Self.sentenceLength, n)
                position.wordsDone += end - q
                batch.words += end - q
                position.cursor = end
                continue
            }
            let kept = sentence.kept
            let centre = kept[ci]
            let shrink = Int(Philox.word(index: UInt64(centre), seed: seed, stream: UInt64(epoch) << 1 | 1)
                % UInt32(window))
            let reach = window - shrink
            let lo = max(0, ci - reach), hi = min(kept.count - 1, ci + reach)
            let contexts = hi - lo  // excluding the centre
            let examples = model == .skipgram ? contexts : (contexts > 0 ? 1 : 0)
            if batch.count + examples > batchSize && batch.count > 0 { return }
            if model == .skipgram {
                for c in lo...hi where c != ci {
                    // As word2vec: the context word's vector predicts the centre word.
                    batch.inputs.append(ids[kept[c]])
                    batch.labels.append(ids[centre])
                    batch.count += 1
                }
            } else if contexts > 0 {
                for c in lo...hi where c != ci { batch.inputs.append(ids[kept[c]]) }
                for _ in contexts..<width { batch.inputs.append(-1) }
                batch.labels.append(ids[centre])
                batch.count += 1
            }
            let advance = centre + 1 - q
            position.wordsDone += advance
            batch.words += advance
            position.cursor = centre + 1
            if batch.count >= batchSize { return }
        }
    }

    /// The surviving positions of one sentence, derived from (start, epoch) and cached.
    struct Sentence {
        var start = -1
        var epoch = -1
        var kept: [Int] = []
        var next = 0
    }

    var sentence = Sentence()

    private mutating func loadSentence(start: Int, epoch: Int) {
        sentence.start = start
        sentence.epoch = epoch
        sentence.next = 0
        sentence.kept.removeAll(keepingCapacity: true)
        for p in start..<min(start + Self.sentenceLength, ids.count) where kept(p, epoch: epoch) {
            sentence.kept.append(p)
        }
    }
}
