import COpenBLAS
import Dispatch
import LoomCore

extension CPUBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                     alpha: Float, beta: Float) throws {
        try Check.owned("gemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("gemm", a, b, c, transposeA: transposeA, transposeB: transposeB, batched: false)
        sgemm(s.m, s.n, s.k, f(a), transposeA, f(b), transposeB, f(c), alpha: alpha, beta: beta)
    }

    public func batchedGemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool,
                            alpha: Float, beta: Float) throws {
        try Check.owned("batchedGemm", by: self, a, b, c)
        let s = try GemmSizes.resolve("batchedGemm", a, b, c, transposeA: transposeA, transposeB: transposeB,
                                      batched: true)
        for i in 0..<s.batch {
            sgemm(s.m, s.n, s.k, f(a) + i * s.m * s.k, transposeA, f(b) + i * s.k * s.n, transposeB,
                  f(c) + i * s.m * s.n, alpha: alpha, beta: beta)
        }
    }

    /// Row-major `C (m×n) = alpha·op(A)·op(B) + beta·C` through OpenBLAS, with explicit leading
    /// dimensions (default: packed). OpenBLAS runs single-threaded (its idle workers spin on
    /// `sched_yield` and would steal the cores from the rest of a step); large products are split
    /// into blocks of rows (or columns) of C, one per thread.
    func sgemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ transposeA: Bool, _ b: UnsafePointer<Float>,
               _ transposeB: Bool, _ c: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0,
               lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        let ldc = ldc ?? n
        if k == 0 || alpha == 0 {
            // C = beta·C (and 0·NaN must give 0 when beta is 0, as BLAS does).
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let lda = lda ?? (transposeA ? m : k), ldb = ldb ?? (transposeB ? k : n)
        func block(_ rows: Range<Int>, _ cols: Range<Int>) {
            // Rows of C come from rows of op(A); columns from columns of op(B).
            let aBlock = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
            let bBlock = transposeB ? b + cols.lowerBound * ldb : b + cols.lowerBound
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(rows.count), Int32(cols.count), Int32(k), alpha, aBlock, Int32(lda), bBlock, Int32(ldb),
                        beta, c + rows.lowerBound * ldc + cols.lowerBound, Int32(ldc))
        }
        // A part is worth a thread from about 256k multiply-adds on (below, the handoff dominates).
        let work = Double(m) * Double(n) * Double(k)
        let parts = max(1, min(threads, Int(work / 262_144)))
        if parts == 1 {
            block(0..<m, 0..<n)
        } else if m >= 32 * parts {
            team.run(parts) { p in block((m * p / parts)..<(m * (p + 1) / parts), 0..<n) }
        } else {
            team.run(parts) { p in block(0..<m, (n * p / parts)..<(n * (p + 1) / parts)) }
        }
    }
}
