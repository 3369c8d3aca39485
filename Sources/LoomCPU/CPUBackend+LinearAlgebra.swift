import COpenBLAS
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
    /// dimensions (default: packed). Small products run on one thread: OpenBLAS's idle workers spin
    /// (`sched_yield`) and would steal the cores from the rest of a step.
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
        let work = Double(m) * Double(n) * Double(k)
        let wanted = work >= 4_000_000 ? threads : 1
        if wanted != blasThreads {
            openblas_set_num_threads(Int32(wanted))
            blasThreads = wanted
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda ?? (transposeA ? m : k)), b, Int32(ldb ?? (transposeB ? k : n)),
                    beta, c, Int32(ldc))
    }
}
