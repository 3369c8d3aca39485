import Foundation
import Synchronization

/// A fork-join team of persistent threads with a low-latency handoff, for splitting one op over
/// the cores. The caller takes part; workers spin briefly between jobs (an LSTM step issues
/// dozens of small ops back to back) and then sleep, so an idle team costs nothing.
///
/// `DispatchQueue.concurrentPerform` wakes sleeping threads for every call (tens of µs on a busy
/// machine), which is as long as the small GEMMs and gate updates it would split.
final class WorkerTeam: @unchecked Sendable {
    /// The state the threads share. Workers hold it strongly, so it outlives the team until the
    /// last worker has seen the stop signal.
    private let crew: Crew

    /// Threads taking part, the caller included.
    var size: Int { crew.size }

    init(size: Int) { crew = Crew(size: size) }

    deinit { crew.stop() }

    /// Runs `body(p)` for every `p` in `0..<count`, spread over the team; returns when all are done.
    func run(_ count: Int, _ body: (Int) -> Void) { crew.run(count, body) }
}

private final class Crew: @unchecked Sendable {
    let size: Int
    /// Bumped once per job; workers watch it.
    private let epoch = Atomic<Int>(0)
    /// Next part index to take, and parts not yet finished.
    private let nextPart = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    /// Workers asleep on `condition` (so the caller knows to signal).
    private let sleepers = Atomic<Int>(0)
    /// Workers between picking up a job and finishing with it; `run` returns only when none is.
    private let active = Atomic<Int>(0)
    /// Guards `job` (a closure is two words: never read it while it is being written).
    private let jobLock = NSLock()
    private let condition = NSCondition()
    private var parts = 0
    private var job: ((Int) -> Void)?
    private var stopping = false
    /// Spin iterations before a worker sleeps (a few hundred µs).
    private let spinLimit = 200_000
    /// Spins after which a waiting worker offers its core on every turn (`sched_yield`): a thread
    /// outside the team, such as word2vec's batch producer, then runs at once instead of waiting
    /// for the spin to end (what that bought is in Benchmarks/RESULTS.md, "Design measurements").
    private let yieldAfter = 1000

    init(size: Int) {
        self.size = max(1, size)
        for i in 1..<self.size {
            let thread = Thread { [self] in self.work() }
            thread.name = "loom.cpu.\(i)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func stop() {
        condition.lock()
        stopping = true
        epoch.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || size == 1 {
            for p in 0..<count { body(p) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            // Counters first, then the job (under the lock), then the signal: a worker that finds
            // the job finds its counters ready.
            parts = count
            nextPart.store(0, ordering: .relaxed)
            unfinished.store(count, ordering: .relaxed)
            jobLock.lock()
            job = escaping
            jobLock.unlock()
            epoch.add(1, ordering: .releasing)
            if sleepers.load(ordering: .acquiring) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            take(escaping)
            // Wait for the parts other threads took.
            var spins = 0
            while unfinished.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            // Withdraw the job, then wait for every worker that may have picked it up (they count
            // themselves active before looking) to let go of it: the closure must not outlive `run`.
            jobLock.lock()
            job = nil
            jobLock.unlock()
            while active.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
        }
    }

    /// Takes parts until none is left.
    private func take(_ body: (Int) -> Void) {
        while true {
            let p = nextPart.add(1, ordering: .relaxed).oldValue
            if p >= parts { return }
            body(p)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    /// Takes parts of the current job, if any. A function of its own so that the worker's reference
    /// to the job is gone when it returns: `run` must not return while a worker still holds it.
    @inline(never)
    private func runPendingJob() {
        jobLock.lock()
        let pending = job
        jobLock.unlock()
        if let pending { take(pending) }
    }

    private func work() {
        var seen = epoch.load(ordering: .acquiring)
        while true {
            // Spin, then sleep until the epoch moves.
            var spins = 0
            var current = epoch.load(ordering: .acquiring)
            while current == seen && spins < spinLimit {
                spins += 1
                if spins > yieldAfter { sched_yield() }
                current = epoch.load(ordering: .acquiring)
            }
            if current == seen {
                condition.lock()
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while epoch.load(ordering: .acquiring) == seen && !stopping { condition.wait() }
                sleepers.subtract(1, ordering: .relaxed)
                condition.unlock()
                current = epoch.load(ordering: .acquiring)
            }
            if stopping { return }
            seen = current
            active.add(1, ordering: .sequentiallyConsistent)
            runPendingJob()
            active.subtract(1, ordering: .releasing)
        }
    }
}
